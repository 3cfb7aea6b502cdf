import Config

config :phoenix, :json_library, Jason

# The chat-room component, built by `make chat-room-component` in the
# repository root (wasm/chat_room/build.sh). CHAT_ROOM_WASM overrides it.
config :phoenix_chat,
  wasm_path: Path.expand("../../../wasm/chat_room/chat-room.wasm", __DIR__),
  # POST /test/kill-room (kills the component server): for the browser test only.
  test_controls: config_env() == :test

port =
  String.to_integer(System.get_env("PORT", if(config_env() == :test, do: "4012", else: "4000")))

config :phoenix_chat, PhoenixChatWeb.Endpoint,
  adapter: Bandit.PhoenixAdapter,
  http: [ip: {127, 0, 0, 1}, port: port],
  url: [host: "localhost", port: port],
  server: true,
  check_origin: false,
  # A demo's key: generate your own with `mix phx.gen.secret` for anything else.
  secret_key_base: String.duplicate("phoenix-chat-demo-secret-key-base-", 3),
  live_view: [signing_salt: "wasmex-chat"],
  pubsub_server: PhoenixChat.PubSub,
  render_errors: [formats: [html: PhoenixChatWeb.ErrorHTML], layout: false]

config :logger, level: if(config_env() == :test, do: :warning, else: :info)
