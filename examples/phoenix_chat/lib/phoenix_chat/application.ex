defmodule PhoenixChat.Application do
  @moduledoc """
  The supervision tree: the PubSub the room publishes on, the chat-room
  component (`PhoenixChat.Room`), and the web endpoint. A component server
  that dies is restarted by this supervisor; the messages live in each
  LiveView, so the chat goes on.
  """
  use Application

  @impl true
  def start(_type, _args) do
    children = [
      {Phoenix.PubSub, name: PhoenixChat.PubSub},
      {PhoenixChat.Room, wasm_path()},
      PhoenixChatWeb.Endpoint
    ]

    Supervisor.start_link(children, strategy: :one_for_one, name: PhoenixChat.Supervisor)
  end

  defp wasm_path do
    path = System.get_env("CHAT_ROOM_WASM") || Application.fetch_env!(:phoenix_chat, :wasm_path)

    unless File.exists?(path) do
      raise """
      the chat-room component #{path} is not built yet: run `make chat-room-component` \
      in the repository root (it needs Node.js 20 or later and npm), or set CHAT_ROOM_WASM
      """
    end

    path
  end
end
