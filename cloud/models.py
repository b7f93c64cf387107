"""Every cloud table, registered on one metadata for Alembic. Each area adds its import."""

from __future__ import annotations

from sqlmodel import SQLModel

from cloud.accounts import models as accounts_models  # noqa: F401 (registers tables)
from cloud.admin import models as admin_models  # noqa: F401 (registers tables)
from cloud.checkout import models as checkout_models  # noqa: F401 (registers tables)
from cloud.inventory import models as inventory_models  # noqa: F401 (registers tables)
from cloud.mail import models as mail_models  # noqa: F401 (registers tables)
from cloud.oauth import models as oauth_models  # noqa: F401 (registers tables)
from cloud.ops import models as ops_models  # noqa: F401 (registers tables)
from cloud.payments import models as payments_models  # noqa: F401 (registers tables)
from cloud.recommender import shared_model  # noqa: F401 (registers tables)
from cloud.remote import models as remote_models  # noqa: F401 (registers tables)
from cloud.shipping import models as shipping_models  # noqa: F401 (registers tables)

metadata = SQLModel.metadata
