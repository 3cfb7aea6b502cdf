defmodule PhoenixChat.Room do
  @moduledoc """
  The chat room: the JavaScript component of wasm/chat_room (see its WIT,
  wasm/chat_room/chat-room.wit) running in a `Wasmex.Components` server
  named `PhoenixChat.ChatRoom`.

  The component imports `publish-message`; this module implements it by
  broadcasting `{:message_added, message}` on the `"room"` topic, so every
  LiveView subscribed there sees the message.
  """

  @server PhoenixChat.ChatRoom
  @topic "room"

  @doc "The child spec of the component server, with its `publish-message` import."
  def child_spec(wasm_path) do
    Supervisor.child_spec(
      {Wasmex.Components,
       name: @server,
       path: wasm_path,
       imports: %{"publish-message" => {:fn, &publish/1}},
       wasi: %Wasmex.Wasi.WasiP2Options{}},
      id: __MODULE__
    )
  end

  @doc "The name of the component server."
  def server, do: @server

  @doc "The PubSub topic the room publishes on."
  def topic, do: @topic

  @doc """
  The component's `publish-message` import: runs in the component server
  while the guest waits for its answer.
  """
  def publish(message) do
    :ok = Phoenix.PubSub.broadcast(PhoenixChat.PubSub, @topic, {:message_added, message})
    {:ok, "published"}
  end
end
