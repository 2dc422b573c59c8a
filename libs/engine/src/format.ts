/** The message of anything thrown, for audit events and run results. */
export function errorText(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
