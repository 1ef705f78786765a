"""The centre's side: tools that subscribe to the fleet's messages. Imports the MQTT contract
(`edge_agent.mqtt`) and nothing of the agent runtime."""
