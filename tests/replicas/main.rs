//! Several `routeguide serve` processes on one PostgreSQL database, directly and behind
//! nginx: shared notes, a database restart, health, live push. Needs `ROUTEGUIDE_TEST_POSTGRES_*`
//! (`scripts/test-postgres.sh`) and nginx; without them the tests skip locally and fail
//! under `CI=true`.

mod clients;
mod environment;
mod live;
mod nginx;
#[allow(dead_code, reason = "shared with tests/cli, which uses all of it")]
#[path = "../cli/process.rs"]
mod process;
mod restart;
mod two_replicas;
