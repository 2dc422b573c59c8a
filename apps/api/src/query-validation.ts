import { BadRequestException } from '@nestjs/common';
import type { z } from 'zod';

/**
 * Validates request input against a schema; a failure is a 400 whose body names the field:
 * `{ statusCode: 400, error: 'Bad Request', message, field }`.
 */
export function parseInput<S extends z.ZodType>(
  schema: S,
  input: unknown,
  where: string,
): z.output<S> {
  const parsed = schema.safeParse(input ?? {});
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const path = issue?.path.join('.') ?? '';
  const field = issue?.code === 'unrecognized_keys' ? issue.keys.join(',') : path;
  throw new BadRequestException({
    statusCode: 400,
    error: 'Bad Request',
    field: field || where,
    message: `${where}${field ? `.${field}` : ''}: ${issue?.message ?? 'invalid'}`,
  });
}
