// The real Confidence web client against the Vane worker: Spotify's
// @spotify-confidence/openfeature-web-provider 0.0.3 (over its
// @spotify-confidence/client-http 0.0.2) in @openfeature/web-sdk 0.4,
// bundled by esbuild (scripts/browser-tests.sh). The page is served from
// its own origin; the worker's URL (the provider's baseUrl), the client
// secret, the flags to read and the first context come from the query
// string. window.confidenceClient lets the browser tests drive it.
import { OpenFeature, ProviderEvents } from "@openfeature/web-sdk";
import { createConfidenceWebProvider } from "@spotify-confidence/openfeature-web-provider";
import { readFlags, renderFlags } from "../client-common/flag-table.js";

const client = OpenFeature.getClient();
const events = [];
for (const event of [ProviderEvents.Ready, ProviderEvents.Error, ProviderEvents.ConfigurationChanged, ProviderEvents.Stale]) {
  client.addHandler(event, (details) => {
    events.push({ event, message: details?.message ?? null });
  });
}

/** `[{key, type, fallback}]`: the flags the page reads (`flag.path` keys, as the provider takes them). */
let flags = [];

function render(list) {
  document.getElementById("status").textContent = client.providerStatus;
  renderFlags(document.getElementById("flags"), list);
}

/** Starts the provider against `worker`; resolves once it is ready or has failed. */
async function start({ worker, secret, context, read }) {
  flags = read;
  await OpenFeature.setContext(context);
  const provider = createConfidenceWebProvider({
    clientSecret: secret,
    baseUrl: worker,
    region: "eu",
    fetchImplementation: window.fetch.bind(window),
    // Applies go through flags:apply, batched 100 ms after a read.
    apply: { timeout: 100 },
  });
  try {
    await OpenFeature.setProviderAndWait(provider);
  } catch (e) {
    events.push({ event: "setProviderAndWait failed", message: String(e?.message ?? e) });
  }
  return client.providerStatus;
}

window.confidenceClient = {
  start,
  /** Reads every flag through OpenFeature (each read is an apply) and shows them. */
  read() {
    const list = readFlags(client, flags);
    render(list);
    return list;
  },
  status: () => client.providerStatus,
  events: () => events.slice(),
};

const query = new URLSearchParams(location.search);
if (query.has("worker")) {
  start({
    worker: query.get("worker"),
    secret: query.get("secret") ?? "",
    context: JSON.parse(query.get("context") ?? "{}"),
    read: JSON.parse(query.get("read") ?? "[]"),
  }).then(() => (document.body.dataset.started = "true"));
}
