/**
 * The allowed-mentions of everything the bot sends: nothing it writes or echoes (a name, a quoted
 * message, a model's answer) ever pings anyone, not even the person it replies to.
 */
export const NO_PINGS = { parse: [] as never[], repliedUser: false };
