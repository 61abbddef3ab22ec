"""Imported only where ``collect --all``'s workers are forked from (``_collect_job.prepare``: the
parent on Linux, else a fork server), before a worker per terminal is forked: the shipped
profiles of every kind and the desks' catalogues of words are parsed here once, and each worker,
a fork, finds them parsed (the loaders keep what they parsed while the files stay the same:
:func:`tsdtool.profile_files.load`) instead of parsing them again: ~30 ms of CPU per terminal for
the device profiles, ~25 ms more for the app and desk profiles and the catalogues."""

from tsdtool import texts
from tsdtool.apps.profiles import load_app_profiles
from tsdtool.bundle.desks import load_all
from tsdtool.devices.profiles import load_device_profiles

load_device_profiles()
load_app_profiles()
load_all()
for _catalogue in texts.LOCALES.glob("*.toml"):
    texts.catalogue(_catalogue.stem)
