defmodule PhoenixChatWeb.ChatLive do
  @moduledoc """
  The chat, as in the talk: the room's state (its list of messages) lives in
  the LiveView, and the component computes it.

    * `mount/3` asks the component for the first state (`init`) and
      subscribes to the room's topic;
    * sending a message calls `add-message`, which publishes the message,
      and a reply of the component's own, through the `publish-message`
      import (`PhoenixChat.Room.publish/1`);
    * every published message arrives in every LiveView as
      `{:message_added, message}`, and `message-added` builds the new state.

  The secret word ("WAT") makes `add-message` return an error, shown on the
  page; the LiveView and the component server go on.
  """
  use Phoenix.LiveView

  alias PhoenixChat.Room

  @impl true
  def mount(_params, _session, socket) do
    if connected?(socket), do: Phoenix.PubSub.subscribe(PhoenixChat.PubSub, Room.topic())
    socket = assign(socket, messages: [], error: nil, sent: 0)

    case Wasmex.Components.call_function(Room.server(), "init", []) do
      {:ok, messages} -> {:ok, assign(socket, messages: messages)}
      {:error, reason} -> {:ok, unavailable(socket, reason)}
    end
  end

  @impl true
  def handle_event("add_message", %{"message" => message}, socket) do
    case Wasmex.Components.call_function(Room.server(), "add-message", [message]) do
      {:ok, {:ok, _reply}} ->
        {:noreply, assign(socket, error: nil, sent: socket.assigns.sent + 1)}

      {:ok, {:error, reason}} ->
        {:noreply, assign(socket, error: reason)}

      {:error, reason} ->
        {:noreply, unavailable(socket, reason)}
    end
  end

  @impl true
  def handle_info({:message_added, message}, socket) do
    state = socket.assigns.messages

    case Wasmex.Components.call_function(Room.server(), "message-added", [message, state]) do
      {:ok, messages} -> {:noreply, assign(socket, messages: messages)}
      {:error, reason} -> {:noreply, unavailable(socket, reason)}
    end
  end

  # The server is gone (killed, restarting) or the call failed: say so and
  # keep the page.
  defp unavailable(socket, reason) do
    assign(socket, error: "the room is not available right now (#{inspect(reason)})")
  end

  @impl true
  def render(assigns) do
    ~H"""
    <h1>Wasm component chat</h1>
    <ul id="messages">
      <li :for={message <- @messages} class={if String.starts_with?(message, "component:"), do: "component"}>
        <%= message %>
      </li>
    </ul>
    <p :if={@error} id="error" role="alert"><%= @error %></p>
    <form id={"message-form-#{@sent}"} phx-submit="add_message">
      <input type="text" name="message" placeholder="Say something" autocomplete="off" autofocus />
      <button type="submit">Send</button>
    </form>
    """
  end
end
