package roomtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// The keys the strict Python model of a ServiceSpec knows, per object.
// A fixture with any other key would make the Python SDK's list() fail.
var specKeys = map[string][]string{
	"spec": {"version", "kind", "id", "enabled", "metadata", "agents",
		"ports", "files", "container", "external"},
	"metadata": {"name", "description", "repo", "icon", "annotations"},
	"port": {"num", "host_port", "type", "endpoints", "liveness",
		"published", "public", "annotations"},
	"container": {"image", "run_as", "template", "command", "working_dir",
		"pull_secret", "environment", "storage", "on_demand",
		"writable_root_fs", "private"},
	"external": {"url"},
}

// reservedPort is the room-internal port the Python model refuses.
const reservedPort = "8078"

type specInfo struct {
	id, name string
	compact  []byte // the spec as sent inside services_json
}

type specJSON struct {
	Version   string                       `json:"version"`
	Kind      string                       `json:"kind"`
	ID        *string                      `json:"id"`
	Metadata  map[string]json.RawMessage   `json:"metadata"`
	Ports     []map[string]json.RawMessage `json:"ports"`
	Container map[string]json.RawMessage   `json:"container"`
	External  map[string]json.RawMessage   `json:"external"`
}

func checkSpec(raw json.RawMessage) (specInfo, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		return specInfo{}, fmt.Errorf("spec: %w", err)
	}
	if err := knownKeys("spec", top); err != nil {
		return specInfo{}, err
	}
	var s specJSON
	if err := json.Unmarshal(raw, &s); err != nil {
		return specInfo{}, fmt.Errorf("spec: %w", err)
	}
	if s.Version != "v1" || s.Kind != "Service" {
		return specInfo{}, errors.New(`spec: want version "v1" and kind "Service"`)
	}
	var name string
	if err := json.Unmarshal(s.Metadata["name"], &name); err != nil || name == "" {
		return specInfo{}, errors.New("spec: metadata.name is required")
	}
	if err := s.checkParts(); err != nil {
		return specInfo{}, err
	}

	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return specInfo{}, err
	}
	info := specInfo{name: name, compact: buf.Bytes()}
	if s.ID != nil {
		info.id = *s.ID
	}
	return info, nil
}

func (s *specJSON) checkParts() error {
	if err := knownKeys("metadata", s.Metadata); err != nil {
		return err
	}
	if s.Container != nil {
		if _, ok := s.Container["image"]; !ok {
			return errors.New("spec: container.image is required")
		}
	}
	if err := knownKeys("container", s.Container); err != nil {
		return err
	}
	if err := knownKeys("external", s.External); err != nil {
		return err
	}
	for _, p := range s.Ports {
		if err := knownKeys("port", p); err != nil {
			return err
		}
		var num PortNum = "*"
		if raw, ok := p["num"]; ok {
			if err := json.Unmarshal(raw, &num); err != nil {
				return fmt.Errorf("spec: %w", err)
			}
		}
		if num == reservedPort {
			return errors.New("spec: port 8078 is reserved for the room")
		}
	}
	return nil
}

func knownKeys(what string, obj map[string]json.RawMessage) error {
	allowed := specKeys[what]
	for k := range obj {
		ok := false
		for _, a := range allowed {
			ok = ok || a == k
		}
		if !ok {
			return fmt.Errorf("spec: unknown key %q in %s", k, what)
		}
	}
	return nil
}
