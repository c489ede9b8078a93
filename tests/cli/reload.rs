//! SIGHUP reloads the feature database of a real process without dropping connections.

use std::time::Duration;

use routeguide::pb;

use super::process::ServerProcess;

/// How long a reload may take before the test fails; only bounds a failure.
const LIMIT: Duration = Duration::from_secs(30);

/// Writes a one-feature database named `name` at E7 (1, 1).
fn write_database(path: &std::path::Path, name: &str) {
    let json = format!(r#"[{{"location": {{"latitude": 1, "longitude": 1}}, "name": "{name}"}}]"#);
    std::fs::write(path, json).unwrap();
}

async fn name_at_1_1(
    client: &mut pb::route_guide_client::RouteGuideClient<tonic::transport::Channel>,
) -> String {
    let point = pb::Point {
        latitude: 1,
        longitude: 1,
    };
    client.get_feature(point).await.unwrap().into_inner().name
}

#[tokio::test]
async fn sighup_swaps_in_a_new_database_and_keeps_the_old_one_when_the_new_file_is_broken() {
    let dir = std::env::temp_dir().join(format!("routeguide-reload-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("db.json");
    write_database(&db, "first");
    let server = ServerProcess::start(&["--db", db.to_str().unwrap()]);
    // One connection for the whole test: a reload must not drop it.
    let channel = tonic::transport::Channel::from_shared(format!("http://{}", server.addr))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = pb::route_guide_client::RouteGuideClient::new(channel);
    assert_eq!(name_at_1_1(&mut client).await, "first");

    write_database(&db, "second");
    server.signal("HUP");
    server.wait_for_log("database reloaded", 1, LIMIT);
    assert_eq!(name_at_1_1(&mut client).await, "second");

    // A broken file: logged with its line and column, and the previous data keeps serving.
    std::fs::write(&db, "[\n  {\"name\": }\n]").unwrap();
    server.signal("HUP");
    let log = server.wait_for_log("database reload failed", 1, LIMIT);
    let failure = log
        .lines()
        .find(|line| line.contains("database reload failed"))
        .unwrap();
    assert!(failure.contains("db.json:2:12"), "{failure}");
    assert_eq!(name_at_1_1(&mut client).await, "second");

    write_database(&db, "third");
    server.signal("HUP");
    server.wait_for_log("database reloaded", 2, LIMIT);
    assert_eq!(name_at_1_1(&mut client).await, "third");
    let _ = std::fs::remove_dir_all(&dir);
}
