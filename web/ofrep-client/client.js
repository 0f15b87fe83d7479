// A real OpenFeature web client for the Vane worker: @openfeature/web-sdk
// with @openfeature/ofrep-web-provider, bundled by esbuild (see
// scripts/browser-tests.sh). The page is served from its own origin; the
// worker's URL, a client key and the first context come from the query
// string. window.vaneClient lets the browser tests drive it.
import { OpenFeature, ProviderEvents } from "@openfeature/web-sdk";
import { OFREPWebProvider } from "@openfeature/ofrep-web-provider";
import { readFlags, renderFlags } from "../client-common/flag-table.js";

/** The flags the page shows, one per OpenFeature type (the shop example's). */
const FLAGS = [
  { key: "new-search", type: "boolean", fallback: false },
  { key: "checkout-flow", type: "string", fallback: "code-default" },
  { key: "free-shipping-threshold", type: "number", fallback: -1 },
  { key: "recommendations", type: "object", fallback: {} },
];

const client = OpenFeature.getClient();
const events = [];
for (const event of [ProviderEvents.Ready, ProviderEvents.Error, ProviderEvents.ConfigurationChanged,
  ProviderEvents.Stale, ProviderEvents.ContextChanged, ProviderEvents.Reconciling]) {
  client.addHandler(event, (details) => {
    events.push({ event, message: details?.message ?? null });
    render();
  });
}

function details() {
  return readFlags(client, FLAGS);
}

function render() {
  const status = client.providerStatus;
  const s = document.getElementById("status");
  s.textContent = status;
  s.dataset.status = status;
  renderFlags(document.getElementById("flags"), details());
}

/** Starts the provider against `worker` with `key`; resolves once it is ready or has failed. */
async function start({ worker, key, context }) {
  await OpenFeature.setContext(context);
  const provider = new OFREPWebProvider({
    baseUrl: worker,
    headers: [["Authorization", `Bearer ${key}`]],
    // Every evaluation from the network, none from localStorage.
    cacheMode: "disabled",
  });
  try {
    await OpenFeature.setProviderAndWait(provider);
  } catch (e) {
    events.push({ event: "setProviderAndWait failed", message: String(e?.message ?? e) });
  }
  render();
  return client.providerStatus;
}

window.vaneClient = {
  start,
  /** Changes the evaluation context; the provider refetches. */
  async setContext(context) {
    await OpenFeature.setContext(context);
    render();
    return client.providerStatus;
  },
  details,
  status: () => client.providerStatus,
  events: () => events.slice(),
};

const query = new URLSearchParams(location.search);
if (query.has("worker")) {
  start({
    worker: query.get("worker"),
    key: query.get("key") ?? "",
    context: JSON.parse(query.get("context") ?? "{}"),
  }).then(() => (document.body.dataset.started = "true"));
} else {
  render();
}
