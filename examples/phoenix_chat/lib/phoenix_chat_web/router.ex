defmodule PhoenixChatWeb.Router do
  @moduledoc "Routes: the chat LiveView at `/`, and in the test environment the browser test's controls."
  use Phoenix.Router
  import Phoenix.LiveView.Router

  pipeline :browser do
    plug :accepts, ["html"]
    plug :fetch_session
    plug :fetch_live_flash
    plug :put_root_layout, html: {PhoenixChatWeb.Layouts, :root}
    plug :protect_from_forgery
  end

  scope "/", PhoenixChatWeb do
    pipe_through :browser
    live "/", ChatLive
  end

  if Application.compile_env(:phoenix_chat, :test_controls, false) do
    scope "/test", PhoenixChatWeb do
      post "/kill-room", TestController, :kill_room
    end
  end
end
