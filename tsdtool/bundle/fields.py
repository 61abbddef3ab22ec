"""The ticket's field vocabulary: one snake_case key per fact a desk may ask for.

Keys are shared by every desk profile, so ``--field contact_name=…`` means the same thing
whichever desk gets the ticket. ``auto`` fields are filled by tsdtool from the bundle
(:func:`tsdtool.bundle.ticket.auto_values`); the rest only a person can give. A desk profile
may relabel a field in its own language; a key outside this catalogue is still accepted and
shown in the ticket under its key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

KEY = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Field:
    key: str
    label: str
    auto: bool = False  # filled from the bundle, never prompted for
    multiline: bool = False  # prompted for and shown as a block
    hint: str = ""  # one line shown in prompts


CATALOG: dict[str, Field] = {
    f.key: f
    for f in (
        # filled from the bundle
        Field("device_model", "Terminal model", auto=True),
        Field("device_os", "Terminal OS and firmware", auto=True),
        Field("app_version", "App version", auto=True),
        Field("pc_os", "PC operating system", auto=True),
        Field("pc_bitness", "PC OS bitness", auto=True),
        Field("logs", "Logs", auto=True),
        Field("screenshot", "Screenshot", auto=True),
        Field("database", "App database", auto=True),
        Field("attachments", "Attached folders", auto=True),
        # only a person knows these
        Field("description", "What goes wrong", multiline=True, hint="the error text and when it appears"),
        Field("steps", "Steps to reproduce", multiline=True, hint="what you do, one step per line"),
        Field("impact", "Impact on work", hint="what people cannot do because of it"),
        Field("affected_users", "People affected", hint="how many staff meet the problem"),
        Field("product", "Product", hint="the product or solution name as bought"),
        Field("project", "Project", hint="the project name (often part of the app version)"),
        Field("onec_version", "1C version", hint="platform and configuration, e.g. 8.3.24 / УТ 11.5"),
        Field("contact_name", "Contact name"),
        Field("contact_email", "Contact e-mail"),
        Field("contact_phone", "Contact phone"),
        Field("company", "Company"),
        Field(
            "exchange_link",
            "Link to the exchange folder archive",
            hint="a download link to the zipped folder",
        ),
        Field("bundle_link", "Link to the support bundle", hint="where the bundle was uploaded"),
    )
}

# Human fields a saved contact (user config contact.toml) may pre-fill.
CONTACT_KEYS = ("contact_name", "contact_email", "contact_phone", "company")


def field(key: str) -> Field:
    """The catalogue entry, or a plain one for a key the catalogue does not know."""
    return CATALOG.get(key) or Field(key, key.replace("_", " ").capitalize())


def alternatives(requirement: str) -> list[str]:
    """``"exchange_link|attachments"`` → either key satisfies the requirement."""
    return [k.strip() for k in requirement.split("|") if k.strip()]
