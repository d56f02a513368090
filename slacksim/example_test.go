package slacksim_test

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/roomops/roombot/slacksim"
)

// A user runs a command, the bot answers with a card, the user clicks
// its first button and the bot replaces the card through the click's
// response_url.
func Example() {
	srv, err := slacksim.New(slacksim.Config{})
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	var wg sync.WaitGroup
	defer wg.Wait() // after cancel, before Close
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// The bot side: the real slack-go client, pointed at the stand-in.
	api := slack.New(srv.Config().BotToken,
		slack.OptionAppLevelToken(srv.Config().AppToken),
		slack.OptionAPIURL(srv.APIURL()))
	bot := socketmode.New(api)
	wg.Go(func() { _ = bot.RunContext(ctx) })
	wg.Go(func() {
		for {
			var ev socketmode.Event
			select {
			case <-ctx.Done():
				return
			case ev = <-bot.Events:
			}
			switch ev.Type {
			case socketmode.EventTypeSlashCommand:
				btn := slack.NewButtonBlockElement("go", "v1",
					slack.NewTextBlockObject("plain_text", "Go", false, false))
				_ = bot.Ack(*ev.Request, map[string]any{
					"text":   "Ready?",
					"blocks": []slack.Block{slack.NewActionBlock("b1", btn)},
				})
			case socketmode.EventTypeInteractive:
				_ = bot.Ack(*ev.Request)
				cb := ev.Data.(slack.InteractionCallback)
				_ = slack.PostWebhookContext(ctx, cb.ResponseURL,
					&slack.WebhookMessage{ReplaceOriginal: true, Text: "Done"})
			}
		}
	})

	// The user side.
	_ = srv.WaitConnections(ctx, 1)
	cmd, _ := srv.SlashCommand(ctx, slacksim.SlashCommand{
		UserID: "U0ALICE01", ChannelID: "C0OPS0001", Text: "list myroom",
	})
	card, _ := srv.WaitReply(ctx, cmd)
	click, _ := srv.Click(ctx, slacksim.Click{UserID: "U0ALICE01", TS: card.Message.TS, Button: 0})
	done, _ := srv.WaitReply(ctx, click)

	fmt.Println(done.Kind, done.Message.Text, len(srv.Violations()))
	// Output: edited Done 0
}
