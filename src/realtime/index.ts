/** Public surface of the realtime client (no Discord concepts here). */
export { RealtimeClient } from './client.ts';
export type { RealtimeClientOptions } from './clientOptions.ts';
export { ResponseHandle, type ResponseHandleEvents } from './responseHandle.ts';
export { PROVIDER_PRESETS, handshakeHeaders, isProviderName, modelInUrl, presetUrl, realtimeUrl, type ProviderName, type ProviderPreset } from './presets.ts';
export { AuthenticationError, ConnectionError, DialectError, RealtimeError, SessionConfigError, type RealtimeErrorInit } from './errors.ts';
export {
  DEFAULT_PRICES,
  DEFAULT_TRANSCRIPTION_PRICES,
  UsageLedger,
  canPriceTranscription,
  estimateCost,
  emptyUsage,
  emptyTotals,
  pricesFor,
  transcriptionAsTokenUsage,
  transcriptionCost,
  transcriptionPricesFor,
  type ModelPrices,
  type PriceTable,
  type TokenPrices,
  type TokenUsage,
  type TranscriptionPrices,
  type TranscriptionPriceTable,
  type TranscriptionTotals,
  type TranscriptionUsage,
  type UnpricedUsage,
  type UsageTotals,
} from './usage.ts';
export { backoffDelay, type ReconnectOptions } from './backoff.ts';
export { cutTranscript, estimateTokens } from './history.ts';
export { sessionToWire, responseToWire, messageItem, canonicalEventType, SERVER_EVENT_ALIASES } from './dialect.ts';
export type {
  ClientState,
  ConversationInput,
  CreateResponseOptions,
  Dialect,
  FunctionCall,
  FunctionToolSpec,
  HistoryEntry,
  McpApprovalPolicy,
  McpApprovalRequest,
  McpCallEvent,
  McpToolSpec,
  McpToolsEvent,
  ToolSpec,
  Modality,
  NoiseReductionType,
  OutOfBandResponseOptions,
  RealtimeEventMap,
  ResponseResult,
  ResponseStatus,
  SessionConfig,
  TurnDetection,
} from './types.ts';
