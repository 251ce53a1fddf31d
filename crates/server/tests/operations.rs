//! Each family of operations in process: what it answers, what it stores, and the service's
//! own errors for bad input (which change nothing). The wire itself (JSON 1.1, SigV4, real
//! clients) is the Python suite's.

mod support;

use serde_json::{json, Value};
use support::Farm;

fn arn_of(v: &Value, entity: &str) -> String {
    v[entity]["arn"].as_str().unwrap_or_else(|| panic!("{entity}.arn in {v}")).to_owned()
}

fn len(v: &Value, list: &str) -> usize {
    v[list].as_array().unwrap_or_else(|| panic!("{list} in {v}")).len()
}

#[tokio::test]
async fn projects_are_created_listed_updated_and_deleted() {
    let farm = Farm::start(1.0, &[]).await;
    let made = farm.ok("CreateProject", json!({"name": "app", "defaultJobTimeoutMinutes": 30})).await;
    let arn = arn_of(&made, "project");
    assert_eq!(made["project"]["defaultJobTimeoutMinutes"], 30);
    farm.ok("UpdateProject", json!({"arn": arn, "name": "renamed"})).await;
    assert_eq!(farm.ok("GetProject", json!({"arn": arn})).await["project"]["name"], "renamed");
    assert_eq!(len(&farm.ok("ListProjects", json!({})).await, "projects"), 1);
    // Out of the model's range: refused, nothing made.
    assert_eq!(
        farm.error("CreateProject", json!({"name": "x", "defaultJobTimeoutMinutes": 0})).await,
        "ArgumentException"
    );
    assert_eq!(len(&farm.ok("ListProjects", json!({})).await, "projects"), 1);
    farm.ok("DeleteProject", json!({"arn": arn})).await;
    assert_eq!(farm.error("GetProject", json!({"arn": arn})).await, "NotFoundException");
}

#[tokio::test]
async fn project_limit_is_the_accounts() {
    let mut farm = Farm::start(1.0, &[]).await;
    farm.settings(|s| s.limits.max_projects = 2).await;
    farm.project("one").await;
    farm.project("two").await;
    assert_eq!(farm.error("CreateProject", json!({"name": "three"})).await, "LimitExceededException");
    assert_eq!(len(&farm.ok("ListProjects", json!({})).await, "projects"), 2);
}

#[tokio::test]
async fn uploads_go_from_initialized_to_succeeded_and_curated_specs_are_listed() {
    let farm = Farm::start(1.0, &[]).await;
    let project = farm.project("uploads").await;
    let package = farm.package(&project, "tests:\n  - {name: a, seconds: 1}\n").await;
    let got = farm.ok("GetUpload", json!({"arn": package})).await;
    assert_eq!(
        (got["upload"]["status"].as_str(), got["upload"]["category"].as_str()),
        (Some("SUCCEEDED"), Some("PRIVATE"))
    );
    let specs = farm.ok("ListUploads", json!({"arn": project, "type": "APPIUM_PYTHON_TEST_SPEC"})).await;
    assert!(specs["uploads"].as_array().expect("uploads").iter().all(|u| u["category"] == "CURATED"), "{specs}");
    assert!(len(&specs, "uploads") >= 1);
    assert_eq!(
        farm.error("CreateUpload", json!({"projectArn": project, "name": "a.txt", "type": "ANDROID_APP"})).await,
        "ArgumentException"
    );
    farm.ok("DeleteUpload", json!({"arn": package})).await;
    assert_eq!(farm.error("GetUpload", json!({"arn": package})).await, "NotFoundException");
}

#[tokio::test]
async fn device_pools_select_devices_by_rules() {
    let farm = Farm::start(1.0, &[]).await;
    let project = farm.project("pools").await;
    let rules = json!([{"attribute": "PLATFORM", "operator": "EQUALS", "value": "\"ANDROID\""}]);
    let pool = arn_of(
        &farm.ok("CreateDevicePool", json!({"projectArn": project, "name": "android", "rules": rules})).await,
        "devicePool",
    );
    let compatible =
        farm.ok("GetDevicePoolCompatibility", json!({"devicePoolArn": pool, "testType": "APPIUM_WEB_PYTHON"})).await;
    assert!(len(&compatible, "compatibleDevices") >= 2, "{compatible}");
    let listed = farm.ok("ListDevicePools", json!({"arn": project})).await;
    assert!(listed["devicePools"].as_array().expect("pools").iter().any(|p| p["type"] == "CURATED"), "{listed}");
    let bad = json!([{"attribute": "PLATFORM", "operator": "LESS_THAN", "value": "\"ANDROID\""}]);
    assert_eq!(
        farm.error("CreateDevicePool", json!({"projectArn": project, "name": "bad", "rules": bad})).await,
        "ArgumentException"
    );
    farm.ok("DeleteDevicePool", json!({"arn": pool})).await;
}

#[tokio::test]
async fn devices_and_their_instances_are_listed() {
    let farm = Farm::start(1.0, &[]).await;
    let devices = farm
        .ok("ListDevices", json!({"filters": [{"attribute": "PLATFORM", "operator": "EQUALS", "values": ["ANDROID"]}]}))
        .await;
    let first = &devices["devices"][0];
    let got = farm.ok("GetDevice", json!({"arn": first["arn"]})).await;
    assert_eq!(got["device"]["arn"], first["arn"]);
    let instance = first["instances"][0]["arn"].clone();
    assert_eq!(farm.ok("GetDeviceInstance", json!({"arn": instance})).await["deviceInstance"]["arn"], instance);
    assert!(len(&farm.ok("ListDeviceInstances", json!({})).await, "deviceInstances") >= 1);
}

#[tokio::test]
async fn a_run_completes_with_its_suites_tests_artifacts_and_samples() {
    let farm = Farm::start(20.0, &[]).await;
    let project = farm.project("runs").await;
    let package = farm.package(&project, "setup_seconds: 1\nteardown_seconds: 1\ntests:\n  - {name: ok, seconds: 2}\n  - {name: bad, seconds: 2, result: FAILED, message: nope}\n").await;
    let device = farm.androids().await.remove(0);
    let (run, job) = farm.run_on(&project, &package, &device).await;
    let done = farm
        .wait(|| async { farm.ok("GetRun", json!({"arn": run})).await["run"].clone() }, |r| r["status"] == "COMPLETED")
        .await;
    assert_eq!(done["result"], "FAILED", "{done}");
    assert_eq!(len(&farm.ok("ListRuns", json!({"arn": project})).await, "runs"), 1);
    let suites = farm.ok("ListSuites", json!({"arn": job})).await;
    let tests_suite = suites["suites"][1]["arn"].clone();
    let tests = farm.ok("ListTests", json!({"arn": tests_suite})).await;
    let results: Vec<&str> =
        tests["tests"].as_array().expect("tests").iter().map(|t| t["result"].as_str().unwrap_or("")).collect();
    assert_eq!(results, ["PASSED", "FAILED"]);
    assert_eq!(farm.ok("GetTest", json!({"arn": tests["tests"][1]["arn"]})).await["test"]["message"], "nope");
    let problems = farm.ok("ListUniqueProblems", json!({"arn": run})).await;
    assert!(problems["uniqueProblems"]["FAILED"].is_array(), "{problems}");
    let files = farm.ok("ListArtifacts", json!({"arn": job, "type": "FILE"})).await;
    assert!(
        files["artifacts"].as_array().expect("artifacts").iter().any(|a| a["type"] == "TESTSPEC_OUTPUT"),
        "{files}"
    );
    assert!(len(&farm.ok("ListSamples", json!({"arn": job})).await, "samples") >= 1);
    assert_eq!(farm.error("DeleteProject", json!({"arn": format!("{project}x")})).await, "NotFoundException");
    farm.ok("DeleteRun", json!({"arn": run})).await;
    assert_eq!(farm.error("GetJob", json!({"arn": job})).await, "NotFoundException");
}

#[tokio::test]
async fn network_profiles_and_vpce_configurations_are_kept() {
    let farm = Farm::start(1.0, &[]).await;
    let project = farm.project("net").await;
    let profile = arn_of(
        &farm.ok("CreateNetworkProfile", json!({"projectArn": project, "name": "slow", "uplinkDelayMs": 200})).await,
        "networkProfile",
    );
    let listed = farm.ok("ListNetworkProfiles", json!({"arn": project})).await;
    let names: Vec<&str> = listed["networkProfiles"]
        .as_array()
        .expect("profiles")
        .iter()
        .map(|p| p["name"].as_str().unwrap_or(""))
        .collect();
    assert!(names.contains(&"Full") && names.contains(&"slow"), "{names:?}");
    farm.ok("UpdateNetworkProfile", json!({"arn": profile, "downlinkLossPercent": 5})).await;
    assert_eq!(farm.ok("GetNetworkProfile", json!({"arn": profile})).await["networkProfile"]["downlinkLossPercent"], 5);
    assert_eq!(
        farm.error("UpdateNetworkProfile", json!({"arn": profile, "downlinkLossPercent": 101})).await,
        "ArgumentException"
    );
    farm.ok("DeleteNetworkProfile", json!({"arn": profile})).await;

    let vpce = farm.ok("CreateVPCEConfiguration", json!({"vpceConfigurationName": "db", "vpceServiceName": "127.0.0.1:5432", "serviceDnsName": "db.internal"})).await;
    let vpce = arn_of(&vpce, "vpceConfiguration");
    assert_eq!(len(&farm.ok("ListVPCEConfigurations", json!({})).await, "vpceConfigurations"), 1);
    farm.ok("DeleteVPCEConfiguration", json!({"arn": vpce})).await;
    assert_eq!(farm.error("GetVPCEConfiguration", json!({"arn": vpce})).await, "NotFoundException");
}

#[tokio::test]
async fn offerings_are_bought_and_give_slots() {
    let farm = Farm::start(1.0, &[]).await;
    let offerings = farm.ok("ListOfferings", json!({})).await;
    let android = offerings["offerings"]
        .as_array()
        .expect("offerings")
        .iter()
        .find(|o| o["platform"] == "ANDROID")
        .expect("an Android offering")
        .clone();
    let bought = farm.ok("PurchaseOffering", json!({"offeringId": android["id"], "quantity": 2})).await;
    assert_eq!(bought["offeringTransaction"]["offeringStatus"]["quantity"], 2, "{bought}");
    let status = farm.ok("GetOfferingStatus", json!({})).await;
    assert!(status["current"][android["id"].as_str().expect("id")].is_object(), "{status}");
    assert_eq!(len(&farm.ok("ListOfferingTransactions", json!({})).await, "offeringTransactions"), 1);
    assert_eq!(
        farm.error("PurchaseOffering", json!({"offeringId": "00000000-0000-0000-0000-000000000000", "quantity": 1}))
            .await,
        "NotFoundException"
    );
    let settings = farm.ok("GetAccountSettings", json!({})).await;
    assert!(settings["accountSettings"]["awsAccountNumber"] == support::ACCOUNT, "{settings}");
}

#[tokio::test]
async fn tags_and_instance_profiles_are_kept() {
    let farm = Farm::start(1.0, &[]).await;
    let project = farm.project("tags").await;
    farm.ok("TagResource", json!({"ResourceARN": project, "Tags": [{"Key": "team", "Value": "qa"}]})).await;
    let tags = farm.ok("ListTagsForResource", json!({"ResourceARN": project})).await;
    assert_eq!(tags["Tags"], json!([{"Key": "team", "Value": "qa"}]));
    farm.ok("UntagResource", json!({"ResourceARN": project, "TagKeys": ["team"]})).await;
    assert_eq!(farm.ok("ListTagsForResource", json!({"ResourceARN": project})).await["Tags"], json!([]));
    assert_eq!(
        farm.error("TagResource", json!({"ResourceARN": project, "Tags": [{"Key": "aws:x", "Value": "y"}]})).await,
        "TagOperationException"
    );

    let profile = arn_of(
        &farm.ok("CreateInstanceProfile", json!({"name": "clean", "rebootAfterUse": false})).await,
        "instanceProfile",
    );
    assert_eq!(
        farm.ok("GetInstanceProfile", json!({"arn": profile})).await["instanceProfile"]["rebootAfterUse"],
        false
    );
    farm.ok("DeleteInstanceProfile", json!({"arn": profile})).await;
}

#[tokio::test]
async fn testgrid_projects_urls_and_sessions_are_kept() {
    let farm = Farm::start(1.0, &[]).await;
    let vpc = json!({"securityGroupIds": ["sg-0123abcd"], "subnetIds": ["subnet-0123abcd"], "vpcId": "vpc-0123abcd"});
    let made = farm.ok("CreateTestGridProject", json!({"name": "web", "vpcConfig": vpc})).await;
    let project = arn_of(&made, "testGridProject");
    assert!(project.contains(":testgrid-project:"), "{project}");
    assert_eq!(made["testGridProject"]["vpcConfig"], vpc);
    let bad_vpc = json!({"securityGroupIds": ["sg-1"], "subnetIds": ["subnet-0123abcd"], "vpcId": "vpc-0123abcd"});
    assert_eq!(
        farm.error("CreateTestGridProject", json!({"name": "x", "vpcConfig": bad_vpc})).await,
        "ArgumentException"
    );
    farm.ok("UpdateTestGridProject", json!({"projectArn": project, "description": "shop"})).await;
    let got = farm.ok("GetTestGridProject", json!({"projectArn": project})).await;
    assert_eq!(
        (got["testGridProject"]["name"].as_str(), got["testGridProject"]["description"].as_str()),
        (Some("web"), Some("shop"))
    );
    assert_eq!(len(&farm.ok("ListTestGridProjects", json!({})).await, "testGridProjects"), 1);

    let url = farm.ok("CreateTestGridUrl", json!({"projectArn": project, "expiresInSeconds": 300})).await;
    let text = url["url"].as_str().expect("url");
    assert!(text.contains("/testgrid/") && text.ends_with("/wd/hub"), "{text}");
    let expires = url["expires"].as_f64().expect("expires");
    let now = farm.state.now_ms() as f64 / 1000.0;
    assert!((expires - now - 300.0).abs() < 5.0, "{expires} vs {now}");
    assert_eq!(
        farm.error("CreateTestGridUrl", json!({"projectArn": project, "expiresInSeconds": 30})).await,
        "ArgumentException"
    );

    assert_eq!(len(&farm.ok("ListTestGridSessions", json!({"projectArn": project})).await, "testGridSessions"), 0);
    let missing = json!({"projectArn": project, "sessionId": "0123456789abcdef0123456789abcdef"});
    assert_eq!(farm.error("GetTestGridSession", missing).await, "NotFoundException");
    assert_eq!(farm.error("GetTestGridSession", json!({"projectArn": project})).await, "ArgumentException");
    farm.ok("DeleteTestGridProject", json!({"projectArn": project})).await;
    assert_eq!(farm.error("GetTestGridProject", json!({"projectArn": project})).await, "NotFoundException");
}

#[tokio::test]
async fn remote_access_sessions_hold_a_device_and_end_once() {
    let farm = Farm::start(1.0, &[]).await;
    let project = farm.project("remote").await;
    let devices = farm.ok("ListDevices", json!({})).await;
    let list = devices["devices"].as_array().expect("devices");
    let enabled = list.iter().find(|d| d["remoteAccessEnabled"] == true).expect("a remote access device");
    let disabled = list.iter().find(|d| d["remoteAccessEnabled"] == false).expect("a device without it");
    let device = enabled["arn"].as_str().expect("arn");
    let refused = json!({"projectArn": project, "deviceArn": disabled["arn"]});
    assert_eq!(farm.error("CreateRemoteAccessSession", refused).await, "ArgumentException");
    let input = json!({"projectArn": project, "deviceArn": device, "name": "look"});
    let made = farm.ok("CreateRemoteAccessSession", input).await;
    let arn = arn_of(&made, "remoteAccessSession");
    assert!(arn.contains(":session:") && arn.ends_with("/00000"), "{arn}");
    let running = farm
        .wait(
            || farm.ok("GetRemoteAccessSession", json!({"arn": arn})),
            |v| v["remoteAccessSession"]["status"] == "RUNNING",
        )
        .await;
    assert!(running["remoteAccessSession"]["endpoint"].as_str().is_some_and(|e| e.contains("/remote-access/")));
    assert_eq!(farm.error("DeleteRemoteAccessSession", json!({"arn": arn})).await, "ArgumentException");
    let listed = farm.ok("ListRemoteAccessSessions", json!({"arn": project})).await;
    assert_eq!(len(&listed, "remoteAccessSessions"), 1);
    farm.ok("StopRemoteAccessSession", json!({"arn": arn})).await;
    let done = farm
        .wait(
            || farm.ok("GetRemoteAccessSession", json!({"arn": arn})),
            |v| v["remoteAccessSession"]["status"] == "COMPLETED",
        )
        .await;
    assert_eq!(done["remoteAccessSession"]["result"], "STOPPED");
    // Billed once, in the ledger beside jobs.
    let entries = farm.state.store.billing_entries(&store::LedgerQuery::default()).await.expect("ledger");
    assert_eq!(entries.iter().filter(|e| e.job_arn == arn).count(), 1);
    farm.ok("DeleteRemoteAccessSession", json!({"arn": arn})).await;
    assert_eq!(farm.error("GetRemoteAccessSession", json!({"arn": arn})).await, "NotFoundException");
}
