// What the browser test clients (web/ofrep-client, web/confidence-client)
// share: reading a list of flags through an OpenFeature client, one typed
// getter per flag, and showing them as table rows.

/**
 * The evaluation details of each `{key, type, fallback}` through `client`'s
 * typed getters (`boolean`, `string`, `number`, `object`).
 */
export function readFlags(client, flags) {
  const get = {
    boolean: (k, d) => client.getBooleanDetails(k, d),
    string: (k, d) => client.getStringDetails(k, d),
    number: (k, d) => client.getNumberDetails(k, d),
    object: (k, d) => client.getObjectDetails(k, d),
  };
  return flags.map(({ key, type, fallback }) => {
    const d = get[type](key, fallback);
    return { key, type, value: d.value, variant: d.variant ?? null, reason: d.reason ?? null,
      errorCode: d.errorCode ?? null, errorMessage: d.errorMessage ?? null };
  });
}

/** Replaces the rows of `tbody` with one row per detail. */
export function renderFlags(tbody, list) {
  tbody.replaceChildren(...list.map((d) => {
    const row = document.createElement("tr");
    for (const cell of [d.key, d.type, JSON.stringify(d.value), d.variant ?? "", d.reason ?? "", d.errorCode ?? ""]) {
      const td = document.createElement("td");
      td.textContent = cell;
      row.append(td);
    }
    return row;
  }));
}
