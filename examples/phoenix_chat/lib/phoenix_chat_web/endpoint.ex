defmodule PhoenixChatWeb.Endpoint do
  @moduledoc "The HTTP endpoint (Bandit): the LiveView socket, the two JavaScript clients, the router."
  use Phoenix.Endpoint, otp_app: :phoenix_chat

  @session_options [store: :cookie, key: "_phoenix_chat_key", signing_salt: "wasmex-chat"]

  socket "/live", Phoenix.LiveView.Socket, websocket: [connect_info: [session: @session_options]]

  # The JavaScript clients come straight from the packages' priv/static: no
  # asset build step.
  plug Plug.Static, at: "/assets", from: :phoenix, only: ~w(phoenix.js)
  plug Plug.Static, at: "/assets", from: :phoenix_live_view, only: ~w(phoenix_live_view.js)

  plug Plug.Parsers, parsers: [:urlencoded, :json], json_decoder: Jason
  plug Plug.Session, @session_options
  plug PhoenixChatWeb.Router
end
