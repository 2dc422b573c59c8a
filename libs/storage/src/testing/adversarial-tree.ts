import { execFile } from 'node:child_process';
import {
  chmod,
  chown,
  link,
  lutimes,
  mkdir,
  open,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Bytes of a name that is not valid UTF-8. */
export const NON_UTF8 = Buffer.from([0x66, 0xff, 0xfe, 0x2d, 0x6e, 0x61, 0x6d, 0x65]);

/**
 * Writes into the existing directory `root` a tree built to break archivers: control-byte,
 * non-UTF-8, 250-byte, newline and NFC/NFD-twin names, a path over 255 bytes, absolute,
 * relative, escaping and dangling symbolic links, hard links within and across directories
 * (the case that deadlocks node-tar), a read-only directory, setgid, sticky, setuid and 0000
 * modes, a sparse file, a FIFO, another owner (when root), and exact mtimes everywhere
 * (directories last, as creating their children changes them).
 */
export async function writeAdversarialTree(root: string): Promise<void> {
  const at = (...parts: (string | Buffer)[]) =>
    Buffer.concat([Buffer.from(root), ...parts.flatMap((p) => [Buffer.from('/'), Buffer.from(p)])]);
  for (const dir of ['h/sub', 'z', 'ro', 'setgid', 'sticky', 'links', 'deep']) {
    await mkdir(at(dir), { recursive: true });
  }
  const long = `${'d'.repeat(120)}/${'e'.repeat(120)}`;
  await mkdir(at('deep', long), { recursive: true });
  const files: [Buffer, string | Buffer][] = [
    [at('h', 'a'), 'x\n'],
    [at('z', 'after'), 'y\n'],
    [at(Buffer.from([0x01, 0x02, 0x1b, 0x7f, 0x41])), 'control bytes'],
    [at(NON_UTF8), 'latin-1 name'],
    [at('n'.repeat(250)), '250-byte name'],
    [at('caf\u00e9'), 'NFC'],
    [at('cafe\u0301'), 'NFD'],
    [at('line\nbreak'), 'newline in the name'],
    [at('empty'), ''],
    [at('deep', long, 'f'.repeat(100)), 'a path over 255 bytes'],
    [at('ro', 'inside'), 'in a read-only directory'],
    [at('setgid', 'file'), 'setgid dir'],
    [at('setuid'), '#!/bin/sh\n'],
    [at('mode-0000'), 'nobody may read this'],
  ];
  for (const [path, content] of files) await writeFile(path, content);
  await link(at('h', 'a'), at('h', 'sub', 'c'));
  await link(at('h', 'a'), at('h', 'b'));
  await link(at('z', 'after'), at('links', 'twin'));
  await symlink('/etc/passwd', at('links', 'absolute'));
  await symlink('../h/a', at('links', 'relative'));
  await symlink('../../../outside', at('links', 'escaping'));
  await symlink('no/such/target', at('links', 'dangling'));
  await symlink(NON_UTF8, at('links', 'to-non-utf8'));
  await sparse(at('sparse'));
  await run('mkfifo', [`${root}/fifo`]);
  if (process.getuid?.() === 0) await chown(at('z', 'after'), 1234, 5678);
  await chmod(at('setuid'), 0o4755);
  await chmod(at('mode-0000'), 0o000);
  await chmod(at('setgid'), 0o2775);
  await chmod(at('sticky'), 0o1777);
  await lutimes(at('links', 'absolute'), 1_500_000_000.5, 1_500_000_000.25);
  let second = 1_600_000_000;
  for (const [path] of files) await utimes(path, second, (second += 7) + 0.123456);
  const dirs = [`deep/${long}`, `deep/${'d'.repeat(120)}`, 'ro', 'setgid', 'sticky', 'links'];
  for (const dir of [...dirs, 'h/sub', 'h', 'z', 'deep']) {
    await utimes(at(dir), second, (second += 11) + 0.654321);
  }
  await chmod(at('ro'), 0o555);
  await utimes(root, second, second + 0.5);
}

async function sparse(path: Buffer): Promise<void> {
  const handle = await open(path, 'w');
  try {
    await handle.write(Buffer.from('middle'), 0, 6, 32 * 1024 * 1024);
    await handle.truncate(64 * 1024 * 1024);
  } finally {
    await handle.close();
  }
}
