/**
 * The authentication methods of one hop, in ssh's order: ssh-agent
 * ($SSH_AUTH_SOCK, unless IdentitiesOnly names files), then each identity
 * file (explicit, else the config's, else ~/.ssh/id_*). An encrypted key asks
 * for its passphrase through the options' callback, three tries like ssh; a
 * missing or unusable file is skipped. ssh2 calls the handler for each next
 * method; isLastMethod says whether any could follow the one just handed on
 * (an agent, or a key file that exists).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { AnyAuthMethod, AuthenticationType, NextAuthHandler } from 'ssh2';
import type { ResolvedHost } from './ssh-config';
import type { SshOptions } from './ssh-types';

function defaultIdentityFiles(home: string): string[] {
  return ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((n) => path.join(home, '.ssh', n));
}

export function authHandler(
  hop: { options: SshOptions; home: string; resolved: ResolvedHost; user: string },
  parseKey: typeof import('ssh2').utils.parseKey,
): {
  handler: (left: AuthenticationType[], partial: boolean, next: NextAuthHandler) => void;
  isLastMethod(): boolean;
} {
  const { options, resolved, user } = hop;
  const agent = options.agent === undefined ? process.env.SSH_AUTH_SOCK || null : options.agent;
  const explicit =
    options.identityFiles ??
    (process.env.EXPDESK_SSH_IDENTITY ? process.env.EXPDESK_SSH_IDENTITY.split(path.delimiter) : undefined);
  const files =
    explicit ?? (resolved.identityFiles.length ? resolved.identityFiles : defaultIdentityFiles(hop.home));
  const methods: Array<{ kind: 'agent' } | { kind: 'key'; file: string }> = [];
  if (agent && !(resolved.identitiesOnly && resolved.identityFiles.length)) methods.push({ kind: 'agent' });
  for (const f of files) methods.push({ kind: 'key', file: f });
  let i = 0;
  const passphrase = options.passphrase;
  const isLastMethod = (): boolean => methods.slice(i).every((m) => m.kind === 'key' && !existsSync(m.file));
  const handler = (_left: AuthenticationType[], _partial: boolean, next: NextAuthHandler): void => {
    const tryNext = async (): Promise<void> => {
      while (i < methods.length) {
        const m = methods[i++]!;
        if (m.kind === 'agent') return next({ type: 'agent', username: user, agent: agent! });
        let data: Buffer;
        try {
          data = readFileSync(m.file);
        } catch {
          continue; // a missing default key is normal
        }
        let parsed = parseKey(data);
        if (!(parsed instanceof Error)) return next({ type: 'publickey', username: user, key: data });
        if (!/passphrase|encrypted/i.test(parsed.message)) continue; // not a private key we can use
        if (!passphrase) continue;
        for (let attempt = 1; attempt <= 3; attempt++) {
          const phrase = await passphrase(m.file, attempt);
          if (phrase === null || phrase === undefined) break;
          parsed = parseKey(data, phrase);
          if (!(parsed instanceof Error)) {
            const method: AnyAuthMethod = {
              type: 'publickey',
              username: user,
              key: data,
              passphrase: phrase,
            };
            return next(method);
          }
        }
      }
      // ssh2 takes `false` for "no more methods"; its typings omit it.
      next(false as unknown as AuthenticationType);
    };
    void tryNext().catch(() => next(false as unknown as AuthenticationType));
  };
  return { handler, isLastMethod };
}
