"""The operations console under ``/admin``: operators, orders, webhook log, audit log.

How another area adds a console page:

1. Add its operator actions to ``RULES`` in ``cloud/authz.py`` as ``"admin.<area>.<verb>":
   OPERATOR`` (the Authorizer refuses them to anyone but an operator's browser session).
2. In each handler, first ``principal = await require_operator(request, "admin.<...>")``
   (``cloud.admin.access``): it signs the visitor in, asks the Authorizer, and sends an
   operator without a second factor to TOTP enrolment or verification.
3. Render with ``render_admin(request, "myarea/admin_page.html", context)`` (same module);
   the template ``{% extends "admin/base.html" %}`` and fills ``admin_content``. Forms carry
   ``<input type="hidden" name="csrf_token" value="{{ csrf_token() }}">`` (CSRF is checked
   by the middleware for every POST).
4. Register the page in the console's navigation from the area's ``setup(app)``:
   ``add_nav_entry(app, "Shipping", "/admin/shipping")`` (``cloud.admin.nav``); call it after
   ``cloud.admin.setup.setup(app)`` ran (see ``cloud/app.py``).
5. Write an operator action in one transaction with its audit entry:
   ``order = await claim_order(session, order_id, expected_version)``
   (``cloud.admin.locking``: refuses a second operator who loaded an older version of the
   order), change it, then ``await record(session, principal, "order.shipped",
   f"order:{order_id}", {...})`` (``cloud.admin.audit``). The page's form sends the
   ``version`` it showed (``order.version``).
"""
