"""data in and out: imports, external ids, search documents, merges and erasure

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 09:48:58.020883
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import tenure.db.types

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "imports",
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("filename", sa.String(length=300), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("preset", sa.String(length=40), nullable=True),
        sa.Column(
            "mapping",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "options",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("encoding", sa.String(length=40), nullable=True),
        sa.Column("delimiter", sa.String(length=4), nullable=True),
        sa.Column("rows_done", sa.Integer(), nullable=False),
        sa.Column(
            "counts",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "report",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column(
            "created_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("created_at", tenure.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", tenure.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "workspace_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_imports_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_imports_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_imports")),
    )
    with op.batch_alter_table("imports", schema=None) as batch_op:
        batch_op.create_index("ix_imports_ws_id", ["workspace_id", "id"], unique=False)

    op.create_table(
        "contact_external_ids",
        sa.Column(
            "contact_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column(
            "workspace_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_contact_external_ids_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_contact_external_ids_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_external_ids")),
        sa.UniqueConstraint(
            "workspace_id",
            "source",
            "external_id",
            name=op.f("uq_contact_external_ids_workspace_id_source_external_id"),
        ),
    )
    with op.batch_alter_table("contact_external_ids", schema=None) as batch_op:
        batch_op.create_index("ix_external_ids_contact", ["contact_id"], unique=False)

    op.create_table(
        "import_files",
        sa.Column(
            "import_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column(
            "workspace_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["imports.id"],
            name=op.f("fk_import_files_import_id_imports"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_import_files_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_files")),
    )
    op.create_table(
        "search_documents",
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("ref_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "contact_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("updated_at", tenure.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "workspace_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_search_documents_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_search_documents_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_documents")),
        sa.UniqueConstraint(
            "workspace_id",
            "kind",
            "ref_id",
            name=op.f("uq_search_documents_workspace_id_kind_ref_id"),
        ),
    )
    with op.batch_alter_table("search_documents", schema=None) as batch_op:
        batch_op.create_index("ix_search_documents_contact", ["contact_id"], unique=False)

    op.create_table(
        "contact_match_keys",
        sa.Column(
            "contact_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column(
            "workspace_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_contact_match_keys_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_contact_match_keys_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_match_keys")),
    )
    with op.batch_alter_table("contact_match_keys", schema=None) as batch_op:
        batch_op.create_index(
            "ix_contact_match_keys_ws_key", ["workspace_id", "key", "contact_id"], unique=False
        )
        batch_op.create_index("ix_contact_match_keys_contact", ["contact_id"], unique=False)

    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "merged_into_id",
                sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                nullable=True,
            )
        )
        batch_op.add_column(
            sa.Column("erased_at", tenure.db.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_contacts_merged_into_id_contacts"),
            "contacts",
            ["merged_into_id"],
            ["id"],
            ondelete="SET NULL",
        )
    _create_search_index()


#: The FTS5 ``scope`` column: tokens that confine a query to one workspace, one kind and one
#: contact ("ws7contact"; "ws7case ws7doc ct42"), so that the engine intersects posting lists
#: instead of ranking every workspace's matches and filtering afterwards.
_SCOPE = (
    "'ws' || {t}workspace_id || {t}kind"
    " || CASE WHEN {t}kind <> 'contact' THEN ' ws' || {t}workspace_id || 'doc' ELSE '' END"
    " || CASE WHEN {t}contact_id IS NOT NULL THEN ' ct' || {t}contact_id ELSE '' END"
)

SQLITE_SEARCH = [
    # The content of the FTS5 table is a view over search_documents that adds the scope.
    f"""CREATE VIEW search_fts_source AS
        SELECT id, title, body, {_SCOPE.format(t="")} AS scope FROM search_documents""",
    # External content: accent- and case-insensitive, with prefix indexes so "jo*" is fast;
    # kept current by triggers on every write of a document.
    """CREATE VIRTUAL TABLE search_fts USING fts5(
        title, body, scope, content='search_fts_source', content_rowid='id',
        tokenize='unicode61 remove_diacritics 2', prefix='2 3')""",
    f"""CREATE TRIGGER search_documents_ai AFTER INSERT ON search_documents BEGIN
        INSERT INTO search_fts(rowid, title, body, scope)
        VALUES (new.id, new.title, new.body, {_SCOPE.format(t="new.")}); END""",
    f"""CREATE TRIGGER search_documents_ad AFTER DELETE ON search_documents BEGIN
        INSERT INTO search_fts(search_fts, rowid, title, body, scope)
        VALUES ('delete', old.id, old.title, old.body, {_SCOPE.format(t="old.")}); END""",
    f"""CREATE TRIGGER search_documents_au AFTER UPDATE ON search_documents BEGIN
        INSERT INTO search_fts(search_fts, rowid, title, body, scope)
        VALUES ('delete', old.id, old.title, old.body, {_SCOPE.format(t="old.")});
        INSERT INTO search_fts(rowid, title, body, scope)
        VALUES (new.id, new.title, new.body, {_SCOPE.format(t="new.")}); END""",
]

POSTGRES_SEARCH = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    # unaccent() is only STABLE; an index expression needs an IMMUTABLE function.
    """CREATE OR REPLACE FUNCTION tenure_unaccent(text) RETURNS text
        LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
        AS $$ SELECT public.unaccent('public.unaccent'::regdictionary, $1) $$""",
    # 'simple' (no stemming, no stop words: names are not English) with accents folded, for
    # the documents, the queries and the headlines alike.
    "CREATE TEXT SEARCH CONFIGURATION tenure_search (COPY = pg_catalog.simple)",
    """ALTER TEXT SEARCH CONFIGURATION tenure_search ALTER MAPPING FOR
        word, hword, hword_part, numword, numhword, hword_numpart, email, host, url, url_path,
        file WITH public.unaccent, pg_catalog.simple""",
    # The title weighs more than the body (ts_rank's A and B weights).
    """ALTER TABLE search_documents ADD COLUMN tsv tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('tenure_search', coalesce(title, '')), 'A')
        || setweight(to_tsvector('tenure_search', coalesce(body, '')), 'B')
    ) STORED""",
    "CREATE INDEX ix_search_documents_tsv ON search_documents USING gin (tsv)",
    # Contact documents alone, so that a name prefix ("an", "wi") is not looked up among every
    # interaction's words ("and", "with") first.
    """CREATE INDEX ix_search_documents_contact_tsv ON search_documents USING gin (tsv)
        WHERE kind = 'contact'""",
    # Typo-tolerant names: trigram similarity on the folded sort name.
    """CREATE INDEX ix_contacts_sort_name_trgm ON contacts
        USING gin (tenure_unaccent(sort_name) gin_trgm_ops)""",
]


def _create_search_index() -> None:
    statements = SQLITE_SEARCH if op.get_bind().dialect.name == "sqlite" else POSTGRES_SEARCH
    for statement in statements:
        op.execute(statement)


def _drop_search_index() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("search_documents_ai", "search_documents_ad", "search_documents_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS search_fts")
        op.execute("DROP VIEW IF EXISTS search_fts_source")
    else:
        op.execute("DROP INDEX IF EXISTS ix_contacts_sort_name_trgm")
        op.execute("DROP INDEX IF EXISTS ix_search_documents_tsv")
        op.execute("DROP INDEX IF EXISTS ix_search_documents_contact_tsv")
        op.execute("ALTER TABLE search_documents DROP COLUMN IF EXISTS tsv")
        op.execute("DROP TEXT SEARCH CONFIGURATION IF EXISTS tenure_search")


def downgrade() -> None:
    _drop_search_index()
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_contacts_merged_into_id_contacts"), type_="foreignkey"
        )
        batch_op.drop_column("erased_at")
        batch_op.drop_column("merged_into_id")

    with op.batch_alter_table("contact_match_keys", schema=None) as batch_op:
        batch_op.drop_index("ix_contact_match_keys_contact")
        batch_op.drop_index("ix_contact_match_keys_ws_key")

    op.drop_table("contact_match_keys")
    with op.batch_alter_table("search_documents", schema=None) as batch_op:
        batch_op.drop_index("ix_search_documents_contact")

    op.drop_table("search_documents")
    op.drop_table("import_files")
    with op.batch_alter_table("contact_external_ids", schema=None) as batch_op:
        batch_op.drop_index("ix_external_ids_contact")

    op.drop_table("contact_external_ids")
    with op.batch_alter_table("imports", schema=None) as batch_op:
        batch_op.drop_index("ix_imports_ws_id")

    op.drop_table("imports")
