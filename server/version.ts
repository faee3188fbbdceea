// The software version, as NodeInfo, the Mastodon API and the OpenAPI description report it.
export const version = '0.1.0';
