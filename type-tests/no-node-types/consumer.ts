// A consumer that does not load @types/node ("types": []): node-mio's
// declarations must compile without Node's global types (no `Buffer`, no
// `NodeJS` namespace).
import { Events, Interest, Poll, TcpListener, Token, isSystemError, type SystemError } from 'node-mio'

const poll = new Poll()
const events = new Events(16)
const listener = TcpListener.bind('127.0.0.1:0')
poll.registry.register(listener, Token(0), Interest.READABLE)
poll.poll(events, 0)
const error: SystemError | null = listener.takeError()
try {
  listener.accept()
} catch (caught) {
  if (isSystemError(caught)) void [caught.code, error]
}
