"""The top navigation, by role; entries whose pages are not registered are left out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app import access


@dataclass(frozen=True)
class NavItem:
    label: str
    url: str
    active: bool


# (endpoint, label, who sees it): "all", "user", "member", "broker", "demand", "manager",
# "admin".
_ENTRIES: list[tuple[str, Any, str]] = [
    ("catalog.facility_list", _l("Catalogue"), "all"),
    ("booking.request_list", _l("My requests"), "member"),
    ("needs.need_list", _l("My needs"), "member"),
    ("needs.broker_board", _l("Broker board"), "broker"),
    ("needs.demand_page", _l("Demand"), "demand"),
    ("calendars.feeds", _l("Calendars"), "user"),
    ("notifications.inbox", _l("Inbox"), "user"),
    ("booking.manage_home", _l("Manage"), "manager"),
    ("reports.index", _l("Reports"), "manager"),
    ("billing.statement_list", _l("Statements"), "user"),
    ("billing.caps", _l("Spending caps"), "user"),
    ("vouchers.voucher_list", _l("Vouchers"), "member"),
    ("claims.claim_list", _l("Voucher claims"), "admin"),
    ("admin.index", _l("Administration"), "admin"),
    ("api.docs", _l("API"), "all"),
]


def _visible(audience: str) -> bool:
    if audience == "all":
        return True
    if not current_user.is_authenticated:
        return False
    if audience == "user":
        return True
    if audience == "member":
        return access.has_projects(current_user) or current_user.is_admin
    if audience == "broker":
        return access.is_broker(current_user)
    if audience == "demand":
        return access.can_see_demand(current_user)
    if audience == "manager":
        return current_user.is_manager or current_user.is_admin
    return bool(current_user.is_admin)


def nav_items() -> list[NavItem]:
    """Return the navigation entries for the current user."""
    items = []
    for endpoint, label, audience in _ENTRIES:
        if endpoint not in current_app.view_functions or not _visible(audience):
            continue
        items.append(NavItem(str(label), url_for(endpoint), request.endpoint == endpoint))
    return items


def register(app: Flask) -> None:
    """Make nav_items() available in templates."""
    app.jinja_env.globals["nav_items"] = nav_items
