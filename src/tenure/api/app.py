"""The API application factory part: routers, error handlers, OpenAPI."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from tenure.api.routes import (
    activities,
    agreements,
    analytics,
    audit,
    calendar,
    cases,
    catalog,
    contacts,
    continuity,
    deliveries,
    duplicates,
    email,
    exports,
    imports,
    jobs,
    lifecycle,
    meta,
    privacy,
    rules,
    schedules,
    search,
    timeline,
    vcard,
    webhooks,
)

API_PREFIX = "/api/v1"


def build_api_router() -> APIRouter:
    router = APIRouter(prefix=API_PREFIX)
    for module in (
        meta,
        contacts,
        lifecycle,
        agreements,
        timeline,
        activities,
        catalog,
        deliveries,
        schedules,
        cases,
        calendar,
        continuity,
        email,
        jobs,
        webhooks,
        rules,
        analytics,
        search,
        duplicates,
        imports,
        exports,
        vcard,
        privacy,
        audit,
    ):
        router.include_router(module.router)
    return router


def install_api(app: FastAPI) -> None:
    app.include_router(build_api_router())
