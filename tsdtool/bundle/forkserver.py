"""Imported only by ``collect --all``'s fork server (``_collect_job.prepare``), before it forks a
worker per terminal: the shipped device profiles are parsed here once, and each worker, a fork,
finds them parsed (:func:`tsdtool.devices.profiles.load_device_profiles` keeps them while the
files stay the same) instead of parsing them again, ~30 ms of CPU per terminal."""

from tsdtool.devices.profiles import load_device_profiles

load_device_profiles()
