-- Ends the LISTEN sessions of the routeguide replicas using one schema, as a network cut or
-- a failover would; $1 is their application name, `routeguide-live SCHEMA`.
SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1
