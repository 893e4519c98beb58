"""The referral pages, one module per audience: the case manager's clients and referrals, the
partner's inbox, the admin's correction, and the printed handouts. The JSON API is
``referrals/api.py``; both parse into ``referrals/inputs.py`` and call the same domain steps."""

from fastapi import APIRouter

from referrals.views import admin, clients, handouts, inbox, referrals

router = APIRouter(include_in_schema=False)
for module in (clients, referrals, inbox, admin, handouts):
    router.include_router(module.router)
