//! Schema migrations: the `.sql` files in `migrations/`, applied at start-up in one
//! transaction under an advisory lock, so replicas starting together migrate exactly once.

use std::collections::BTreeSet;

use tokio_postgres::Client;

/// One migration: its version (the file's number), name, and SQL.
struct Migration {
    version: i32,
    name: &'static str,
    sql: &'static str,
}

/// Every migration, oldest first; a new one is a new file and a new line here.
const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    name: "create notes",
    sql: include_str!("migrations/0001_create_notes.sql"),
}];

/// The advisory lock every routeguide takes while migrating (bytes of "rgnotes"); the lock
/// is database-wide, so replicas migrating different schemas also take turns, which is
/// harmless for a step that runs once per start.
const MIGRATION_LOCK: i64 = 0x0072_676e_6f74_6573;

/// Says why the schema could not be brought up to date.
#[derive(Debug, thiserror::Error)]
pub(super) enum MigrateError {
    /// The database failed.
    #[error(transparent)]
    Database(#[from] tokio_postgres::Error),
    /// The database was migrated by a newer routeguide.
    #[error("schema {schema} is at version {found}, newer than this routeguide knows ({known})")]
    TooNew {
        schema: String,
        found: i32,
        known: i32,
    },
}

/// Creates `schema` if missing and applies every migration it lacks, in one transaction
/// holding [`MIGRATION_LOCK`]; returns the versions it applied.
///
/// Concurrent callers wait on the lock, then find the work done. DDL is transactional in
/// PostgreSQL, so a failure leaves the schema as it was.
///
/// # Errors
/// [`MigrateError`] when the database fails or is newer than this code.
pub(super) async fn migrate(client: &mut Client, schema: &str) -> Result<Vec<i32>, MigrateError> {
    let transaction = client.transaction().await?;
    transaction
        .execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    // CREATE SCHEMA IF NOT EXISTS needs CREATE on the database even when the schema exists,
    // so look first: an operator may give us a schema and no such right.
    let exists = transaction
        .query_opt("SELECT 1 FROM pg_namespace WHERE nspname = $1", &[&schema])
        .await?
        .is_some();
    if !exists {
        transaction
            .batch_execute(&format!("CREATE SCHEMA {schema}"))
            .await?;
    }
    transaction
        .batch_execute(&format!(
            "SET LOCAL search_path TO {schema};
             CREATE TABLE IF NOT EXISTS schema_migrations (
                 version integer PRIMARY KEY,
                 name text NOT NULL,
                 applied_at timestamptz NOT NULL DEFAULT now()
             )"
        ))
        .await?;
    let applied: BTreeSet<i32> = transaction
        .query("SELECT version FROM schema_migrations", &[])
        .await?
        .iter()
        .map(|row| row.get(0))
        .collect();
    let known = MIGRATIONS.last().map_or(0, |m| m.version);
    if let Some(&found) = applied.last()
        && found > known
    {
        return Err(MigrateError::TooNew {
            schema: schema.to_owned(),
            found,
            known,
        });
    }
    let mut done = Vec::new();
    for migration in MIGRATIONS.iter().filter(|m| !applied.contains(&m.version)) {
        transaction.batch_execute(migration.sql).await?;
        transaction
            .execute(
                "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                &[&migration.version, &migration.name],
            )
            .await?;
        tracing::info!(
            schema,
            version = migration.version,
            name = migration.name,
            "applied note store migration"
        );
        done.push(migration.version);
    }
    transaction.commit().await?;
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_numbered_in_order_from_one() {
        for (index, migration) in MIGRATIONS.iter().enumerate() {
            assert_eq!(migration.version as usize, index + 1, "{}", migration.name);
            assert!(!migration.sql.trim().is_empty(), "{}", migration.name);
        }
    }
}
