"use strict";
// One invocation of a Node.js Lambda handler, as Lambda's Node.js runtime runs it.
//
// Run by sm_constructs/local/aws/awslambda.py as `node bootstrap.js <invocation.json> <result.json>` in the
// function's environment. Handler resolution and the error shapes follow Lambda's Node.js runtime interface
// client (github.com/aws/aws-lambda-nodejs-runtime-interface-client, src/UserFunction.js): "<module>.<export>"
// split at the first dot, the module tried as .js, .mjs, then .cjs under the task root, a dotted export path
// walked, and Runtime.MalformedHandlerName / Runtime.ImportModuleError / Runtime.UserCodeSyntaxError /
// Runtime.HandlerNotFound for a handler that cannot be loaded. Async handlers answer with their promise,
// callback handlers with the callback once the event loop is empty (callbackWaitsForEmptyEventLoop).
const fs = require("fs");
const http = require("http");
const https = require("https");
const path = require("path");
const { pathToFileURL } = require("url");

const [invocationPath, resultPath] = process.argv.slice(2);
const invocation = JSON.parse(fs.readFileSync(invocationPath, "utf8"));

// CloudFormation's ResponseURL is an HTTPS URL on AWS; aws-cdk-lib's handlers PUT to it with
// https.request({hostname, path}), which drops any port. The emulator's ResponseURL is plain HTTP on a
// local port: requests to its host are sent there.
if (invocation.responseUrl) {
  const target = new URL(invocation.responseUrl);
  const original = https.request;
  https.request = function request(options, ...rest) {
    if (options && typeof options === "object" && !(options instanceof URL) && options.hostname === target.hostname) {
      return http.request({ ...options, protocol: "http:", port: target.port, agent: undefined }, ...rest);
    }
    return original.call(this, options, ...rest);
  };
}

let answered = false;
function answer(payload) {
  if (answered) return;
  answered = true;
  fs.writeFileSync(resultPath, JSON.stringify(payload));
}
function errorOf(err, type) {
  const message = err instanceof Error ? err.message : String(err);
  const trace = err instanceof Error && err.stack ? String(err.stack).split("\n") : [];
  return { errorType: type || (err instanceof Error ? err.name : "Error"), errorMessage: message, trace };
}
function fail(err, type) {
  answer({ error: errorOf(err, type) });
  process.exit(0);
}

async function loadModule(root, name) {
  const base = path.resolve(root, name);
  for (const ext of [".js", ".mjs", ".cjs"]) {
    if (!fs.existsSync(base + ext)) continue;
    if (ext === ".mjs") return import(pathToFileURL(base + ext).href);
    try {
      return require(base + ext);
    } catch (err) {
      if (err && err.code === "ERR_REQUIRE_ESM") return import(pathToFileURL(base + ext).href);
      throw err;
    }
  }
  return require(base);
}

async function main() {
  const match = invocation.handler.match(/^([^.]*)\.(.*)$/);
  if (!match) return fail(new Error(`Bad handler ${invocation.handler}`), "Runtime.MalformedHandlerName");
  const [, moduleName, exportPath] = match;
  let handler;
  try {
    handler = await loadModule(invocation.taskRoot, moduleName);
  } catch (err) {
    if (err instanceof SyntaxError) return fail(err, "Runtime.UserCodeSyntaxError");
    if (err && err.code === "MODULE_NOT_FOUND") return fail(err, "Runtime.ImportModuleError");
    return fail(err);
  }
  for (const part of exportPath.split(".")) handler = handler == null ? undefined : handler[part];
  if (handler === undefined) {
    return fail(new Error(`${invocation.handler} is undefined or not exported`), "Runtime.HandlerNotFound");
  }
  if (typeof handler !== "function") {
    return fail(new Error(`${invocation.handler} is not a function`), "Runtime.HandlerNotFound");
  }
  fs.writeFileSync(invocation.readyPath, ""); // the init phase is over; the timeout runs from here
  const deadlineMs = Date.now() + invocation.timeoutMs;
  const context = {
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
    invokedFunctionArn: invocation.functionArn,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    awsRequestId: invocation.requestId,
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadlineMs - Date.now()),
  };
  let pending;
  const callback = (err, value) => {
    if (pending) return;
    pending = err ? { error: errorOf(err) } : { result: value === undefined ? null : value };
    if (!context.callbackWaitsForEmptyEventLoop) {
      answer(pending);
      process.exit(0);
    }
  };
  context.done = callback;
  context.succeed = (value) => callback(null, value);
  context.fail = (err) => callback(err);
  process.on("beforeExit", () => {
    if (pending) answer(pending);
  });
  const returned = handler(invocation.event, context, callback);
  if (returned && typeof returned.then === "function") {
    try {
      const value = await returned;
      answer({ result: value === undefined ? null : value });
    } catch (err) {
      answer({ error: errorOf(err) });
    }
    process.exit(0);
  }
}

process.on("uncaughtException", (err) => fail(err));
process.on("unhandledRejection", (err) => fail(err));
main().catch((err) => fail(err));
