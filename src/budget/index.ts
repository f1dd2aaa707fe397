export { BudgetGuard, WARN_AT, type BudgetGuardEvents, type BudgetGuardOptions, type BudgetLine, type BudgetNotice, type BudgetScope, type BudgetState } from './budgetGuard.ts';
export { formatUsd, formatWait, noticeText, refusalText, spokenNotice } from './messages.ts';
export { SpendRecorder, type SpendRecorderOptions } from './spendRecorder.ts';
