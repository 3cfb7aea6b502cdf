// The chat-room component of the wasmex demo (examples/chat_room.exs), written
// in JavaScript and built into a WebAssembly component by componentize-js
// (see build.sh and chat-room.wit).
//
// How componentize-js binds the world:
// - A function imported at the root of the world (`import publish-message:
//   func ...`) is the default export of a module named like the import.
// - Calling an import that returns `result<T, E>` returns the `ok` value, and
//   for an `err` throws an Error whose `payload` is the `err` value.
// - An export returning `result<T, E>` returns its `ok` value; what it throws
//   becomes the `err` value: the thrown value's `payload` if it has one,
//   otherwise the thrown value itself. An Error without `payload` is not
//   converted: it traps the component instead. So throw a string here.

import publishMessage from "publish-message";

const SECRET_WORD = "WAT";

// export init: func() -> list<string>
export function init() {
  console.log("(chat-room component writing to its WASI stdout: init called)");
  return ["You joined the wasm component chat!"];
}

// export add-message: func(message: string) -> result<string, string>
//
// Publishes `message`, then a message of the component's own, through the
// host. An `err` from the host's publish-message is thrown by
// `publishMessage` and so becomes this function's `err` as well.
export function addMessage(message) {
  if (message === SECRET_WORD) {
    throw `you said the secret word '${SECRET_WORD}'`;
  }

  const published = publishMessage(message);
  publishMessage(`component: got your message '${message}'`);
  return `'${message}' added to the room (host said: ${published})`;
}

// export message-added: func(message: string, state: list<string>) -> list<string>
export function messageAdded(message, state) {
  return [...state, message];
}
