//! The peer baseline: moto's standalone server, which a Python team would otherwise mock with.
//! moto has no Device Farm, so the comparable call is another JSON 1.1 service's stop of a
//! unit of work: ECS StopTask on a task that RunTask started.

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

use crate::farm::str_at;
use crate::http::Connection;
use crate::signer::{Service, EC2};

/// Creates a cluster and starts one task; returns the StopTask body that stops it (moto
/// answers a repeated stop with the stopped task, as StopJob answers with the stopped job).
pub async fn stop_task_body(service: &Service) -> Result<Value> {
    let mut connection = Connection::open(service.addr).await?;
    // A Fargate task needs a subnet that exists: moto's default VPC has some.
    let ec2 = Service::new(service.addr, EC2, service.credentials.clone());
    let subnets = connection.send(&ec2.query("Action=DescribeSubnets&Version=2016-11-15")?).await?;
    let subnets = String::from_utf8_lossy(&subnets.body).into_owned();
    let subnet = subnets
        .split("<subnetId>")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .map(str::to_string)
        .with_context(|| format!("no subnet in moto's DescribeSubnets answer: {subnets}"))?;
    let mut call = async |operation: &str, body: Value| -> Result<Value> {
        let response = connection.send(&service.request(operation, &body)?).await?;
        if response.status != 200 {
            bail!("moto {operation}: HTTP {}: {}", response.status, String::from_utf8_lossy(&response.body));
        }
        Ok(serde_json::from_slice(&response.body)?)
    };
    call("CreateCluster", json!({"clusterName": "bench"})).await?;
    call(
        "RegisterTaskDefinition",
        json!({
            "family": "bench",
            "requiresCompatibilities": ["FARGATE"],
            "networkMode": "awsvpc",
            "cpu": "256",
            "memory": "512",
            "containerDefinitions": [{"name": "app", "image": "busybox", "memory": 128, "essential": true}],
        }),
    )
    .await?;
    let run = call(
        "RunTask",
        json!({
            "cluster": "bench",
            "taskDefinition": "bench",
            "launchType": "FARGATE",
            "networkConfiguration": {"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": ["sg-bench"]}},
        }),
    )
    .await?;
    let task = str_at(&run, "/tasks/0/taskArn")?;
    Ok(json!({"cluster": "bench", "task": task, "reason": "bench"}))
}
