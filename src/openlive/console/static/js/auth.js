// Credentials for a connection. The page never holds the server's API key: it uses what
// the user typed, or asks the server it came from for a single-use ephemeral token
// (given to loopback pages only, see docs/console.md), or none on an open server.

export function isOwnServer(url) {
  if (!url) return true;
  try {
    const target = new URL(url, location.href);
    const own = new URL(location.href);
    return target.host === own.host &&
      target.protocol.replace(/^ws/, "http") === own.protocol;
  } catch {
    return false;
  }
}

export async function credentials(url, typed) {
  const value = (typed || "").trim();
  if (value) {
    return value.startsWith("auth_tokens/")
      ? { token: value, source: "your token" } : { key: value, source: "your key" };
  }
  if (!isOwnServer(url)) return { source: "no credential" };
  let response;
  try {
    response = await fetch("/console/token", { method: "POST", cache: "no-store" });
  } catch (error) {
    throw new Error(`cannot reach the server for a token: ${error.message}`);
  }
  const body = await response.json().catch(() => ({}));
  if (response.ok && body.open) return { source: "open server" };
  if (response.ok && body.name) return { token: body.name, source: "console token" };
  const why = (body.error && body.error.message) || `HTTP ${response.status}`;
  throw new Error(`no console token: ${why}`);
}
