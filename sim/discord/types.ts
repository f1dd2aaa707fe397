/** One HTTP request the bot made to the simulated REST API. */
export interface RecordedRequest {
  method: string;
  /** Path below the API version, e.g. `/channels/123/messages`. */
  path: string;
  query: Record<string, string>;
  body: any;
  /** `performance.now()` when the request arrived. */
  at: number;
  /** The HTTP status the simulator answered with. */
  status: number;
}

/** Who may do what in a channel; `allow`/`deny` are permission bitfields. */
export interface ChannelOverwriteSpec {
  id: string;
  type: 'role' | 'member';
  allow?: bigint;
  deny?: bigint;
}
