import type { FieldError } from './errors.js';
import type { StructuralSchema } from './schema.js';
import type { KubeObject } from './types.js';

/** Evaluates `x-kubernetes-validations` rules (placeholder until the evaluator lands). */
export function validateRules(
  _obj: KubeObject,
  _old: KubeObject | undefined,
  _schema: StructuralSchema,
): FieldError[] {
  return [];
}
