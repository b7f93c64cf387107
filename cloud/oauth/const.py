"""Names and fixed values of the OpenID Connect provider, kept in one place."""

from __future__ import annotations

AUTHORIZE_PATH = "/oauth/authorize"
TOKEN_PATH = "/oauth/token"  # noqa: S105 (a path, not a secret)
JWKS_PATH = "/oauth/jwks"
USERINFO_PATH = "/oauth/userinfo"
REVOKE_PATH = "/oauth/revoke"
DEVICE_AUTHORIZATION_PATH = "/oauth/device_authorization"
REGISTRATION_PATH = "/oauth/register"
DISCOVERY_PATH = "/.well-known/openid-configuration"
DEVICE_PAGE_PATH = "/device"
# Unlinking a hub the account linked: its confirmation page (GET) and the unlinking (POST).
UNLINK_HUB_PATH = "/account/hubs/{client_id}/unlink"
UNLINK_CONFIRMATION = "unlink"  # the confirmation page's button sends confirm=unlink
ACTION_UNLINK_HUB = "hubs.unlink"  # the Authorizer's action (cloud/authz.py)

SCOPE_OPENID = "openid"
SCOPE_PROFILE = "profile"
SCOPE_EMAIL = "email"
SCOPE_DEVICES = "devices"
SCOPE_ORDERS = "orders"
# Lets a freshly onboarded hub register itself as a client (RFC 7591 initial access token).
SCOPE_REGISTER = "hub.register"
SCOPES_SUPPORTED = (
    SCOPE_OPENID,
    SCOPE_PROFILE,
    SCOPE_EMAIL,
    SCOPE_DEVICES,
    SCOPE_ORDERS,
    SCOPE_REGISTER,
)
# What a dynamically registered hub may ask its household members for: never `hub.register`,
# never `orders` (a hub has no business with purchase history).
REGISTERED_CLIENT_SCOPES = (SCOPE_OPENID, SCOPE_PROFILE, SCOPE_EMAIL, SCOPE_DEVICES)
# The first-party clients: the mobile web app shows orders; hub setup links and registers.
MOBILE_CLIENT_SCOPES = (SCOPE_OPENID, SCOPE_PROFILE, SCOPE_EMAIL, SCOPE_DEVICES, SCOPE_ORDERS)
HUB_SETUP_CLIENT_SCOPES = (SCOPE_OPENID, SCOPE_PROFILE, SCOPE_EMAIL, SCOPE_DEVICES, SCOPE_REGISTER)
SCOPE_DESCRIPTIONS = {
    SCOPE_OPENID: "Know that it is you (your account number)",
    SCOPE_PROFILE: "See your account profile",
    SCOPE_EMAIL: "See your email address",
    SCOPE_DEVICES: "See the devices you own, with their claim secrets",
    SCOPE_ORDERS: "See your orders, with the serial numbers of their devices",
    SCOPE_REGISTER: "Register a hub on your behalf",
}

GRANT_AUTHORIZATION_CODE = "authorization_code"
GRANT_REFRESH_TOKEN = "refresh_token"  # noqa: S105 (a grant name)
GRANT_DEVICE_CODE = "urn:ietf:params:oauth:grant-type:device_code"

AUTH_NONE = "none"
AUTH_SECRET_BASIC = "client_secret_basic"  # noqa: S105 (a method name)
AUTH_SECRET_POST = "client_secret_post"  # noqa: S105 (a method name)
TOKEN_AUTH_METHODS = (AUTH_NONE, AUTH_SECRET_BASIC, AUTH_SECRET_POST)

ID_TOKEN_ALG = "RS256"  # noqa: S105 (an algorithm name)
RSA_KEY_BITS = 2048

# First-party clients, created at start-up from the settings.
MOBILE_CLIENT_ID = "ethos-mobile"
MOBILE_CLIENT_NAME = "Ethos mobile app"
HUB_SETUP_CLIENT_ID = "ethos-hub-setup"
HUB_SETUP_CLIENT_NAME = "Ethos hub setup"
# Names a registered client may not take, even disguised (compared by their skeleton,
# see cloud/oauth/registration.py): the first-party clients' and the store's own. A name
# that contains a first-party client's name is refused too. "Ethos hub", the name hubs
# give themselves by default, stays allowed: the consent page says who registered it.
STORE_NAMES = ("Ethos", "Ethos store", "Ethos shop", "Ethos app", "Ethos mobile", "Ethos cloud")

USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"  # no vowels: no words, no 0/O confusion
SLOW_DOWN_STEP_SECONDS = 5  # RFC 8628 §3.5: the client adds 5 s after `slow_down`
AUTHORIZATION_CODE_SECONDS = 60
MAX_REDIRECT_URIS = 5
MAX_REDIRECT_URI_LENGTH = 2000
MAX_CLIENT_NAME = 100
DEFAULT_REGISTERED_NAME = "Ethos hub"  # what a hub that gives no name is called
# A refresh answer lost on the network must not log a hub out: its previous refresh
# token may come back once within this many seconds (ETHOS_OAUTH_REFRESH_GRACE_SECONDS).
REFRESH_GRACE_SECONDS = 60
# Registered clients kept in memory by the token endpoint (cloud/oauth/client_cache.py).
CLIENT_CACHE_SECONDS = 30.0
CLIENT_CACHE_SIZE = 10_000
