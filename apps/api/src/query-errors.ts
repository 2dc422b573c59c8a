import { BadRequestException } from '@nestjs/common';
import { InvalidQueryError } from '#lib/audit';

/** Maps a store's rejection of a query (e.g. a malformed cursor) to a 400 naming the field. */
export async function withQueryErrors<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof InvalidQueryError) {
      throw new BadRequestException({
        statusCode: 400,
        error: 'Bad Request',
        field: error.field,
        message: `query.${error.field}: ${error.message}`,
      });
    }
    throw error;
  }
}
