"""Log in and out, the dashboard, the account page with personal access tokens."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_limiter import RequestLimit
from flask_login import login_required
from werkzeug.wrappers import Response as BaseResponse

from app import ratelimits
from app.accounts import security, services
from app.accounts.forms import LoginForm, PasswordForm, TokenForm
from app.accounts.models import ApiToken
from app.accounts.security import verify_password
from app.errors import ValidationError
from app.extensions import db
from app.httpsecurity import local_path

bp = Blueprint("accounts", __name__)


def _login_refused(limit: RequestLimit) -> Response:
    """Show the login form again, refused for a while, with the wait beside the password."""
    seconds = ratelimits.seconds_until(limit)
    form = LoginForm()
    form.password.errors = [
        _("Too many failed logins; try again in %(seconds)d seconds.", seconds=seconds)
    ]
    response = make_response(render_template("accounts/login.html", form=form), 429)
    response.headers["Retry-After"] = str(seconds)
    return response


@bp.route("/login", methods=["GET", "POST"])
@ratelimits.limit_login(on_breach=_login_refused)
def login() -> str | BaseResponse:
    form = LoginForm()
    if form.validate_on_submit():
        user = services.authenticate(form.email.data or "", form.password.data or "")
        if user is not None:
            security.log_in(user)
            return redirect(local_path(request.args.get("next")) or url_for("accounts.dashboard"))
        form.password.errors.append(_("Email or password is wrong."))
    return render_template("accounts/login.html", form=form)


@bp.post("/logout")
def logout() -> Response:
    security.log_out()
    return redirect(url_for("accounts.login"))


@bp.post("/account/sessions/end")
@login_required
def end_sessions() -> Response:
    """Log out of every browser, this one included (a lost laptop, a shared computer)."""
    services.end_sessions(security.user())
    security.log_out()
    flash(_("You were logged out on every device."))
    return redirect(url_for("accounts.login"))


@bp.get("/dashboard")
@login_required
def dashboard() -> str:
    return render_template("accounts/dashboard.html")


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account() -> str | BaseResponse:
    user = security.user()
    token_form = TokenForm(prefix="token")
    password_form = PasswordForm(prefix="password")
    new_secret = None
    if request.method == "POST" and request.form.get("action") == "token":
        if token_form.validate_on_submit():
            try:
                _token, new_secret = services.create_api_token(user, token_form.name.data or "")
            except ValidationError as error:
                token_form.name.errors.append(error.detail)
    elif request.method == "POST" and request.form.get("action") == "password":
        if password_form.validate_on_submit():
            if not verify_password(user.password_hash, password_form.current.data or ""):
                password_form.current.errors.append(_("This is not your current password."))
            else:
                services.set_password(user, password_form.new.data or "")
                security.log_in(user)
                flash(_("Password changed; other sessions were logged out."))
                return redirect(url_for("accounts.account"))
    tokens = (
        db.session.query(ApiToken)
        .filter(ApiToken.user_id == user.id)
        .order_by(ApiToken.created_at.desc())
        .all()
    )
    return render_template(
        "accounts/account.html",
        token_form=token_form,
        password_form=password_form,
        tokens=tokens,
        new_secret=new_secret,
    )


@bp.post("/account/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int) -> Response:
    services.revoke_api_token(security.user(), token_id)
    flash(_("Token revoked."))
    return redirect(url_for("accounts.account"))
