defmodule PhoenixChat.MixProject do
  use Mix.Project

  # The chat room of the talk as a Phoenix LiveView app: the chat-room
  # component (wasm/chat_room) runs under the application's supervisor and
  # publishes messages on Phoenix.PubSub. See README.md.
  def project do
    [
      app: :phoenix_chat,
      version: "0.1.0",
      elixir: "~> 1.14",
      start_permanent: Mix.env() == :prod,
      deps: deps()
    ]
  end

  def application do
    [mod: {PhoenixChat.Application, []}, extra_applications: [:logger]]
  end

  defp deps do
    [
      {:wasmex, path: "../.."},
      hex(:phoenix, "~> 1.7.21"),
      hex(:phoenix_live_view, "~> 0.20.17"),
      hex(:phoenix_html, "~> 4.2"),
      hex(:phoenix_pubsub, "~> 2.1"),
      hex(:bandit, "~> 1.10"),
      hex(:jason, "~> 1.4")
    ]
  end

  # From Hex, or, when WASMEX_DEPS_DIR names a folder of package sources (one
  # folder per package, as on machines without Hex access), from that folder.
  defp hex(name, requirement) do
    case System.get_env("WASMEX_DEPS_DIR") do
      dir when dir in [nil, ""] -> {name, requirement}
      dir -> {name, path: Path.join(Path.expand(dir), Atom.to_string(name)), override: true}
    end
  end
end
