// redis-parser 3 ships no types (it is the RESP parser ioredis uses): the part redis-pipe.ts calls.
declare module 'redis-parser' {
  interface ParserOptions {
    returnReply(reply: unknown): void;
    returnError(err: Error): void;
    returnFatalError?(err: Error): void;
    returnBuffers?: boolean;
    stringNumbers?: boolean;
  }
  export default class RedisParser {
    constructor(options: ParserOptions);
    execute(buffer: Buffer): void;
    reset(): void;
  }
}
