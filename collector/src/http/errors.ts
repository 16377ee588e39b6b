// One JSON error shape for every 4xx/5xx the collector answers:
// { error: { code, message, fields? } }, fields naming each invalid input.
import type { Response } from 'express';

export interface FieldProblem {
  field: string;
  message: string;
}

export function sendError(res: Response, status: number, code: string, message: string, fields?: FieldProblem[]): void {
  res.status(status).json({ error: { code, message, ...(fields?.length ? { fields } : {}) } });
}
