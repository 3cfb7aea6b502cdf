defmodule PhoenixChatWeb.Layouts do
  @moduledoc "The root layout: loads phoenix.js and phoenix_live_view.js and connects the LiveSocket."
  use Phoenix.Component

  def root(assigns) do
    ~H"""
    <!DOCTYPE html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="csrf-token" content={Phoenix.Controller.get_csrf_token()} />
        <title>Wasm component chat</title>
        <style>
          body { font-family: system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; }
          #messages { list-style: none; padding: 0; }
          #messages li { padding: .25rem .5rem; border-bottom: 1px solid #eee; }
          #messages li.component { color: #555; font-style: italic; }
          #error { color: #b00020; font-weight: bold; }
          input[name=message] { width: 75%; padding: .4rem; }
        </style>
        <script src="/assets/phoenix.js"></script>
        <script src="/assets/phoenix_live_view.js"></script>
        <script>
          window.addEventListener("DOMContentLoaded", () => {
            const csrfToken = document.querySelector("meta[name='csrf-token']").getAttribute("content");
            const liveSocket = new LiveView.LiveSocket("/live", Phoenix.Socket, {params: {_csrf_token: csrfToken}});
            liveSocket.connect();
            window.liveSocket = liveSocket;
          });
        </script>
      </head>
      <body>
        <%= @inner_content %>
      </body>
    </html>
    """
  end
end
