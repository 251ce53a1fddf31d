// Desktop browser testing from JavaScript, as a WebdriverIO or selenium-webdriver suite written
// for AWS runs it: the AWS SDK v3 creates a TestGrid project and a hub URL, selenium-webdriver
// drives Chrome and Firefox through it, then the SDK lists the sessions, their actions and
// artifacts (paginated as the SDK's own paginators do). What it saw goes to FARMHAND_JS_OUT;
// tests/clients/test_testgrid.py compares it with boto3's view.
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import {
    DeviceFarmClient,
    CreateTestGridProjectCommand,
    CreateTestGridUrlCommand,
    GetTestGridSessionCommand,
    ListTestGridSessionActionsCommand,
    ListTestGridSessionArtifactsCommand,
    paginateListTestGridProjects,
    paginateListTestGridSessions,
} from "@aws-sdk/client-device-farm";
import { Builder, By } from "selenium-webdriver";

const env = (name) => {
    const value = process.env[name];
    assert.ok(value, `${name} must be set (tests/clients/test_testgrid.py sets it)`);
    return value;
};

const client = new DeviceFarmClient({ maxAttempts: 1 });
const send = (command) => client.send(command);

test("a selenium-webdriver suite runs through farmhand's TestGrid hub", async () => {
    const page = env("FARMHAND_PAGE_URL");
    const name = `js-${Date.now()}`;
    const { testGridProject } = await send(new CreateTestGridProjectCommand({ name }));
    assert.match(testGridProject.arn, /^arn:aws:devicefarm:us-west-2:\d{12}:testgrid-project:[0-9a-f-]{36}$/);
    assert.ok(testGridProject.created instanceof Date);
    let found = null;
    for await (const listed of paginateListTestGridProjects({ client, pageSize: 1 }, {})) {
        found = found ?? listed.testGridProjects.find((p) => p.arn === testGridProject.arn);
    }
    assert.equal(found?.name, name);

    const grid = await send(new CreateTestGridUrlCommand({ projectArn: testGridProject.arn, expiresInSeconds: 300 }));
    assert.ok(grid.expires instanceof Date && grid.expires > new Date());
    const sessions = {};
    for (const browser of ["chrome", "firefox"]) {
        const driver = await new Builder().usingServer(grid.url).forBrowser(browser).build();
        const id = (await driver.getSession()).getId();
        await driver.get(page);
        assert.equal(await driver.getTitle(), "farmhand testgrid");
        await driver.findElement(By.id("name")).sendKeys("Grace");
        await driver.findElement(By.id("go")).click();
        assert.equal(await driver.findElement(By.id("greeting")).getText(), "Hello, Grace");
        assert.equal(await driver.executeScript("return 2 + 3"), 5);
        assert.ok((await driver.takeScreenshot()).length > 1000);
        await driver.quit();
        sessions[browser] = id;
    }

    const listed = [];
    for await (const got of paginateListTestGridSessions({ client, pageSize: 1 }, { projectArn: testGridProject.arn })) {
        listed.push(...got.testGridSessions);
    }
    assert.deepEqual(listed.map((s) => s.arn.split("/").pop()), [sessions.chrome, sessions.firefox]);
    const seen = { project: testGridProject, sessions: {}, actions: {}, artifacts: {} };
    for (const session of listed) {
        assert.equal(session.status, "CLOSED");
        assert.ok(session.created instanceof Date && session.ended instanceof Date);
        const properties = JSON.parse(session.seleniumProperties);
        const again = await send(new GetTestGridSessionCommand({ sessionArn: session.arn }));
        assert.deepEqual(again.testGridSession, session);
        const actions = [];
        let nextToken;
        do {
            const got = await send(new ListTestGridSessionActionsCommand({ sessionArn: session.arn, maxResult: 4, nextToken }));
            actions.push(...got.actions);
            nextToken = got.nextToken;
        } while (nextToken);
        const { artifacts } = await send(new ListTestGridSessionArtifactsCommand({ sessionArn: session.arn }));
        const browser = properties.browser;
        seen.sessions[browser] = { ...session, created: session.created.getTime() / 1000, ended: session.ended.getTime() / 1000 };
        seen.actions[browser] = actions.map((a) => ({ ...a, started: a.started.getTime() / 1000 }));
        seen.artifacts[browser] = artifacts.map((a) => ({ type: a.type, filename: a.filename }));
        const video = await fetch(artifacts.find((a) => a.type === "VIDEO").url);
        assert.equal(video.status, 200);
        assert.equal(video.headers.get("content-type"), "video/mp4");
    }
    seen.project = { ...testGridProject, created: testGridProject.created.getTime() / 1000 };
    writeFileSync(env("FARMHAND_JS_OUT"), JSON.stringify(seen));
});
