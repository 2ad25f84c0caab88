// service_plugin.c: Bluetooth mesh gateway
#include <stdlib.h>

extern int hal_ble_init(int profile_id);
extern int hal_ble_send(const uint8_t* data, int len);
extern void ch_recv(int ch_id, int* value);

#define MAX_NODES 8

typedef struct {
    uint8_t node_id;
    int32_t last_seen;
} mesh_node_t;

mesh_node_t mesh_nodes[MAX_NODES] = {0};
int node_count = 0;

void mesh_gateway() {
    hal_ble_init(0x01);

    while (1) {
        uint8_t incoming[64];
        int value;

        ch_recv(1, &value);  // Receive from main app

        if (node_count < MAX_NODES) {
            mesh_nodes[node_count].node_id = (uint8_t)value;
            node_count++;
        }

        // Broadcast to all mesh nodes
        for (int i = 0; i < node_count; i++) {
            hal_ble_send((uint8_t*)&mesh_nodes[i],
                        sizeof(mesh_node_t));
        }

        ch_recv(1, &value);
    }
}
