"""Pilotslot: shared-facility booking and pilot-test scheduling."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response
from werkzeug.middleware.proxy_fix import ProxyFix

from app import config as config_module
from app.extensions import babel, csrf, db, limiter, login_manager, migrate


class Pilotslot(Flask):
    """Flask, serving its (small) static files from memory."""

    def send_static_file(self, filename: str) -> Response:
        """Answer a static file with its bytes read and the file closed at once.

        werkzeug's own server skips close() on the answer when the client resets the
        connection, and a 304 is never read: either way an open file would be left behind."""
        response = super().send_static_file(filename)
        source = response.response
        if response.direct_passthrough:
            try:
                body = [] if response.status_code == 304 else [b"".join(source)]
            finally:
                source.close()  # type: ignore[attr-defined]
            response.response = body
            response.direct_passthrough = False
        return response


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Create the Flask application; `config` overrides the environment (tests use it)."""
    app = Pilotslot(__name__, instance_path=str(config_module._instance_dir()))
    app.config.update(config_module.from_environment())
    if config:
        app.config.update(config)
    if app.config["TRUSTED_PROXIES"]:
        # Behind N reverse proxies, trust their X-Forwarded-For/Proto/Host, and no one else's.
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops
        )

    db.init_app(app)
    migrate.init_app(
        app,
        db,
        directory=str(config_module.PROJECT_ROOT / "migrations"),
        render_as_batch=True,
        compare_type=True,
    )
    login_manager.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)

    from app import i18n, navigation
    from app.notifications import views as notification_views

    babel.init_app(app, locale_selector=i18n.select_locale)

    from app import (  # noqa: F401  (models: the tables)
        database,
        dataversion,
        errorhandlers,
        httpsecurity,
        logs,
        models,
        ratelimits,
    )

    logs.configure(app)
    database.init_app(app)
    dataversion.init_app(app)
    errorhandlers.register(app)
    httpsecurity.register(app)
    register_blueprints(app)
    ratelimits.register(app)
    register_signals()
    register_cli(app)
    i18n.register(app)
    navigation.register(app)
    notification_views.register(app)
    return app


def register_blueprints(app: Flask) -> None:
    """Attach every blueprint; each module's blueprint file is only its route table."""
    from app.accounts.views import bp as accounts_bp
    from app.admin.views import bp as admin_bp
    from app.api import bp as api_bp
    from app.billing import views as billing_views
    from app.billing.api import bp as billing_api_bp
    from app.billing.caps_api import bp as caps_api_bp
    from app.booking.api import bp as booking_api_bp
    from app.booking.views import bp as booking_bp
    from app.calendars.views import bp as calendars_bp
    from app.catalog.api import bp as catalog_api_bp
    from app.catalog.views import bp as catalog_bp
    from app.jobs.views import bp as jobs_bp
    from app.needs.api import bp as needs_api_bp
    from app.needs.views import bp as needs_bp
    from app.notifications.api import bp as notifications_api_bp
    from app.notifications.views import bp as notifications_bp
    from app.reports.api import bp as reports_api_bp
    from app.reports.views import bp as reports_bp
    from app.usage import views as usage_views
    from app.usage.api import bp as usage_api_bp
    from app.vouchers import claim_views
    from app.vouchers import views as voucher_views
    from app.vouchers.api import bp as vouchers_api_bp
    from app.vouchers.claims_api import bp as claims_api_bp
    from app.web import bp as web_bp

    app.register_blueprint(web_bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(booking_api_bp)
    app.register_blueprint(booking_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(calendars_bp)
    app.register_blueprint(catalog_bp)
    app.register_blueprint(catalog_api_bp)
    app.register_blueprint(reports_bp)
    app.register_blueprint(reports_api_bp)
    app.register_blueprint(jobs_bp)
    app.register_blueprint(needs_bp)
    app.register_blueprint(needs_api_bp)
    app.register_blueprint(notifications_bp)
    app.register_blueprint(notifications_api_bp)
    app.register_blueprint(usage_views.bp)
    app.register_blueprint(billing_views.bp)
    app.register_blueprint(caps_api_bp)
    app.register_blueprint(usage_api_bp)
    app.register_blueprint(billing_api_bp)
    app.register_blueprint(voucher_views.bp)
    app.register_blueprint(vouchers_api_bp)
    app.register_blueprint(claim_views.bp)
    app.register_blueprint(claims_api_bp)
    usage_views.register(app)
    billing_views.register(app)
    claim_views.register(app)


def register_signals() -> None:
    """Connect the listeners of domain signals (blinker; idempotent)."""
    from app.jobs import waitlist
    from app.notifications import listeners

    waitlist.connect()
    listeners.connect()


def register_cli(app: Flask) -> None:
    """Attach the click command groups."""
    from app.cli import register

    register(app)
