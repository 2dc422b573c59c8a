/** Base class of the errors drivers raise; `transient` tells the engine whether a retry can help. */
export class DriverError extends Error {
  constructor(
    message: string,
    readonly transient: boolean,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** The volume does not exist or cannot be snapshotted in its current phase. */
export class VolumeNotFoundError extends DriverError {
  constructor(message: string) {
    super(message, false);
  }
}

/** A snapshot of that name exists for another volume. */
export class SnapshotConflictError extends DriverError {
  constructor(message: string) {
    super(message, false);
  }
}

/** The provider refused because the volume holds as many snapshots as its cap allows. */
export class SnapshotLimitError extends DriverError {
  constructor(message: string) {
    super(message, false);
  }
}

/** The snapshot reported an error while it was being created. */
export class SnapshotFailedError extends DriverError {
  constructor(message: string) {
    super(message, false);
  }
}

/** The snapshot did not become ready in time; a later attempt may still see it ready. */
export class SnapshotTimeoutError extends DriverError {
  constructor(message: string) {
    super(message, true);
  }
}

/** A temporary fault of the provider (unreachable, throttled, 5xx): retry with backoff. */
export class TransientDriverError extends DriverError {
  constructor(message: string) {
    super(message, true);
  }
}

/** The request breaks a rule of the provider (restore size, class, access modes, capability). */
export class InvalidRequestError extends DriverError {
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message, false);
  }
}

/** No snapshot of that name exists (or it was deleted while someone waited for it). */
export class SnapshotNotFoundError extends DriverError {
  constructor(message: string) {
    super(message, false);
  }
}

/**
 * The snapshot's stored data does not match its recorded checksums: restoring it would not
 * return the bytes that were snapshotted (invariant 7), so the driver refuses.
 */
export class SnapshotCorruptedError extends DriverError {
  constructor(message: string) {
    super(message, false);
  }
}

/**
 * An archive operation of the local driver failed: `transient` says whether a retry can help
 * (disk full, I/O error) or not (permission denied, no progress within the watchdog's bound).
 */
export class ArchiveError extends DriverError {}

/** A file the driver reads (volume labels, snapshot manifest) cannot be parsed; `file` names it. */
export class MalformedFileError extends DriverError {
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(`${file}: ${detail}`, false);
  }
}
