import { applyDecorators } from '@nestjs/common';
import { ApiQuery } from '@nestjs/swagger';
import type { z } from 'zod';

/**
 * Declares in the OpenAPI document every (optional) query parameter of a strict zod object
 * schema, so the document follows the schema the endpoint validates with.
 */
export function ApiQueryFrom(schema: z.ZodObject): MethodDecorator {
  return applyDecorators(
    ...Object.keys(schema.shape).map((name) => ApiQuery({ name, required: false, type: String })),
  );
}
