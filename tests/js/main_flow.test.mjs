// The AWS SDK for JavaScript v3, configured only as a user would point it at farmhand
// (AWS_ENDPOINT_URL_DEVICE_FARM, AWS_REGION and the key in the environment), through the main
// flow of a pipeline: project, upload + PUT, pool, ScheduleRun, GetRun polling, StopJob,
// ListArtifacts and the downloads. Each response is checked as the SDK parsed it (modeled
// exceptions, Date objects, numbers); tests/clients/test_js_sdk.py then compares what this
// SDK saw with boto3's view of the same entities, field by field, from FARMHAND_JS_OUT.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import {
    DeviceFarmClient,
    ArgumentException,
    NotFoundException,
    CreateProjectCommand,
    CreateUploadCommand,
    GetUploadCommand,
    ListDevicesCommand,
    CreateDevicePoolCommand,
    ScheduleRunCommand,
    GetRunCommand,
    ListJobsCommand,
    GetJobCommand,
    StopJobCommand,
    ListArtifactsCommand,
    CreateRemoteAccessSessionCommand,
    GetRemoteAccessSessionCommand,
    StopRemoteAccessSessionCommand,
    paginateListDevices,
} from "@aws-sdk/client-device-farm";

const env = (name) => {
    const value = process.env[name];
    assert.ok(value, `${name} must be set (tests/clients/test_js_sdk.py sets it)`);
    return value;
};

const client = new DeviceFarmClient({ maxAttempts: 1 });
const send = (command) => client.send(command);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function poll(what, fetch, done, timeoutMs = 60_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const value = await fetch();
        if (done(value)) return value;
        assert.ok(Date.now() < deadline, `${what} not reached in ${timeoutMs} ms; last ${JSON.stringify(value)}`);
        await sleep(50);
    }
}

// Dates become epoch seconds so that Python can compare them with boto3's datetimes.
const plain = (value) =>
    JSON.parse(JSON.stringify(value, function (key, v) {
        const raw = this[key];
        return raw instanceof Date ? raw.getTime() / 1000 : v;
    }));

test("main flow: upload, schedule, poll, stop, artifacts", async () => {
    const deviceArn = env("FARMHAND_DEVICE_ARN");
    const seen = {};

    const { project } = await send(new CreateProjectCommand({ name: `js-sdk-${Date.now()}` }));
    assert.match(project.arn, /^arn:aws:devicefarm:[a-z0-9-]+:\d{12}:project:[0-9a-f-]{36}$/);
    assert.ok(project.created instanceof Date, "created parses as a Date");

    const { upload } = await send(new CreateUploadCommand({
        projectArn: project.arn, name: "tests.zip", type: "APPIUM_WEB_PYTHON_TEST_PACKAGE",
    }));
    assert.equal(upload.status, "INITIALIZED");
    const put = await fetch(upload.url, { method: "PUT", body: readFileSync(env("FARMHAND_TEST_PACKAGE")) });
    assert.equal(put.status, 200, await put.text());
    const processed = await poll("upload SUCCEEDED",
        async () => (await send(new GetUploadCommand({ arn: upload.arn }))).upload,
        (u) => u.status !== "INITIALIZED" && u.status !== "PROCESSING");
    assert.equal(processed.status, "SUCCEEDED", processed.message);
    seen.upload = plain(processed);

    const devices = [];
    for await (const page of paginateListDevices({ client }, {})) devices.push(...page.devices);
    const device = devices.find((d) => d.arn === deviceArn);
    assert.ok(device, `ListDevices pages hold ${deviceArn}`);
    assert.equal(typeof device.heapSize, "number");

    const { devicePool } = await send(new CreateDevicePoolCommand({
        projectArn: project.arn, name: "js pool",
        rules: [{ attribute: "ARN", operator: "IN", value: JSON.stringify([deviceArn]) }],
    }));

    const { run } = await send(new ScheduleRunCommand({
        projectArn: project.arn, devicePoolArn: devicePool.arn, name: "js run",
        test: { type: "APPIUM_WEB_PYTHON", testPackageArn: processed.arn },
    }));
    assert.equal(run.devicePoolArn, devicePool.arn);
    assert.equal(run.totalJobs, 1);

    await poll("run RUNNING", async () => (await send(new GetRunCommand({ arn: run.arn }))).run,
        (r) => r.status === "RUNNING");
    const { jobs } = await send(new ListJobsCommand({ arn: run.arn }));
    assert.equal(jobs.length, 1);
    assert.equal(jobs[0].device.arn, deviceArn);
    // Setup has passed: the scenario's long test is in progress.
    await poll("setup passed", async () => (await send(new GetJobCommand({ arn: jobs[0].arn }))).job,
        (j) => j.counters.passed >= 1);

    const stop = await send(new StopJobCommand({ arn: jobs[0].arn }));
    assert.equal(stop.job.arn, jobs[0].arn);
    assert.equal(stop.job.status, "STOPPING");
    assert.equal(stop.job.result, "PENDING");
    seen.stopResponse = plain(stop.job);

    const job = await poll("job COMPLETED", async () => (await send(new GetJobCommand({ arn: jobs[0].arn }))).job,
        (j) => j.status === "COMPLETED");
    assert.equal(job.result, "STOPPED");
    assert.ok(job.stopped instanceof Date && job.started instanceof Date && job.stopped > job.started);
    assert.equal(typeof job.deviceMinutes.total, "number");
    seen.job = plain(job);
    seen.run = plain(await poll("run COMPLETED", async () => (await send(new GetRunCommand({ arn: run.arn }))).run,
        (r) => r.status === "COMPLETED"));

    seen.artifacts = {};
    let downloads = 0;
    for (const type of ["FILE", "LOG", "SCREENSHOT"]) {
        const { artifacts } = await send(new ListArtifactsCommand({ arn: job.arn, type }));
        seen.artifacts[type] = plain(artifacts);
        for (const artifact of artifacts) {
            const response = await fetch(artifact.url);
            assert.equal(response.status, 200, `${artifact.name}: ${response.status}`);
            assert.ok((await response.arrayBuffer()).byteLength > 0, `${artifact.name} is empty`);
            downloads += 1;
        }
    }
    assert.ok(downloads > 0, "a stopped job still has artifacts to download");

    // The service's errors arrive as the SDK's modeled exceptions, with their messages.
    await assert.rejects(send(new GetRunCommand({ arn: "not-an-arn" })), (e) =>
        e instanceof ArgumentException && e.$metadata.httpStatusCode === 400 && e.message.length > 0);
    await assert.rejects(send(new GetRunCommand({ arn: run.arn.replace(/[0-9a-f]{4}$/, "0000") })), (e) =>
        e instanceof NotFoundException && e.$metadata.httpStatusCode === 400);

    // The device, free again, driven in a remote access session.
    const { remoteAccessSession: made } = await send(new CreateRemoteAccessSessionCommand({
        projectArn: project.arn, deviceArn: env("FARMHAND_DEVICE_ARN"), name: "js-remote" }));
    assert.match(made.arn, /^arn:aws:devicefarm:us-west-2:\d{12}:session:[0-9a-f-]{36}\/[0-9a-f-]{36}\/00000$/);
    const getSession = async () => (await send(new GetRemoteAccessSessionCommand({ arn: made.arn }))).remoteAccessSession;
    const live = await poll("session RUNNING", getSession, (s) => s.status === "RUNNING");
    assert.ok(live.endpoints.interactiveEndpoint.includes("/remote-access/") && live.started instanceof Date);
    await send(new StopRemoteAccessSessionCommand({ arn: made.arn }));
    const ended = await poll("session COMPLETED", getSession, (s) => s.status === "COMPLETED");
    assert.equal(ended.result, "STOPPED");
    seen.remote = plain(ended);

    writeFileSync(env("FARMHAND_JS_OUT"), JSON.stringify(seen, null, 1));
});
