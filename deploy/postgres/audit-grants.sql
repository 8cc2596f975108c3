-- The inquiry store's application role on PostgreSQL: everything it needs, and on the audit trail
-- no more than appending and reading. The database's triggers refuse to change or remove audit
-- rows too, but the tables' owner can drop a trigger; a role that owns nothing cannot.
--
-- Migrate as the owner (start the worker once with the owner's DATABASE_URL), then, as the owner:
--
--   psql "$OWNER_DATABASE_URL" -v app_role=inquiries_app -f deploy/postgres/audit-grants.sql
--
-- and run the worker, starter and codec server with the application role's DATABASE_URL. They
-- check the schema version at start and change nothing when it is current. Run this file again
-- after a release that adds tables.
\set ON_ERROR_STOP on

GRANT USAGE ON SCHEMA public TO :"app_role";
GRANT SELECT ON schema_version TO :"app_role";
GRANT SELECT, INSERT, UPDATE ON inquiry, outbox, survey_answer, data_key TO :"app_role";

-- The audit trail: rows are appended and read; free text may be deleted (erasure, retention),
-- never changed; the chain's head moves with every append.
REVOKE ALL ON audit_event, audit_text, audit_head FROM :"app_role";
GRANT SELECT, INSERT ON audit_event TO :"app_role";
GRANT SELECT, INSERT, DELETE ON audit_text TO :"app_role";
GRANT SELECT, INSERT, UPDATE ON audit_head TO :"app_role";

GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO :"app_role";
